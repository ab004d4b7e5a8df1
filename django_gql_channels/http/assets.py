"""The IDE's browser files, served by the GraphQL endpoint itself.

The files live in ``static/django_gql_channels/ide/`` inside the package:
GraphiQL, React and the explorer plugin as published on npm (pinned and
checked by ``scripts/ide_assets.py``, with ``pins.json`` and the licences
beside them), and the pages' own script and style in ``page/``. A page asks
for one with a URL relative to itself, ``?ide-asset=<name>&v=<digest>``, so
they need no ``collectstatic``, no static-files app and no URL of their own,
and they follow the endpoint behind any prefix or ``URL_PATTERN``.

A request whose ``v`` is the file's current digest is cached for a year as
``immutable`` (a new file is a new URL); any other ``v`` gets the file with
``no-cache``, so an old page still works. Clients that accept gzip get the
``.gz`` twin shipped beside each npm file.
"""

from __future__ import annotations

import base64
import hashlib
import json
from collections.abc import Iterable
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from urllib.parse import quote

from .errors import HTTPError

__all__ = ["ASSET_PARAM", "IDE_DIR", "Asset", "accepts_gzip", "asset_reply", "cdn_pins", "get_asset", "page_assets"]

#: the query parameter naming an asset; never a GraphQL-over-HTTP parameter
ASSET_PARAM = "ide-asset"
IDE_DIR = Path(__file__).resolve().parent.parent / "static" / "django_gql_channels" / "ide"

# An asset URL names its content's digest, so a matching request may be cached for good.
_IMMUTABLE = (b"cache-control", b"public, max-age=31536000, immutable")
_REVALIDATE = (b"cache-control", b"no-cache")

_CONTENT_TYPES = {".js": b"text/javascript; charset=utf-8", ".mjs": b"text/javascript; charset=utf-8",
                  ".css": b"text/css; charset=utf-8"}

# Names the templates use -> (npm package in pins.json, file) or a file of our own.
_PINNED_ALIASES = {
    "react": ("react", "react.production.min.js"),
    "react_dom": ("react-dom", "react-dom.production.min.js"),
    "graphiql": ("graphiql", "graphiql.min.js"),
    "graphiql_css": ("graphiql", "graphiql.min.css"),
    "explorer": ("@graphiql/plugin-explorer", "plugin-explorer.umd.js"),
    "explorer_css": ("@graphiql/plugin-explorer", "plugin-explorer.css"),
}
_OWN_ALIASES = {
    "page_css": "page/ide.css",
    "endpoints": "page/endpoints.js",
    "graphiql_page": "page/graphiql.js",
    "apollo_sandbox_page": "page/apollo-sandbox.js",
    "pathfinder_page": "page/pathfinder.js",
}


@dataclass(frozen=True)
class Asset:
    """One file the IDE pages load."""

    name: str
    path: Path
    content_type: bytes
    #: short SHA-256 of the content: the URL's version
    digest: str
    #: Subresource Integrity value (SHA-384) for the page's tag
    integrity: str
    gzip_path: Path | None

    @property
    def url(self) -> str:
        """The URL relative to the endpoint's page."""
        return f"?{ASSET_PARAM}={quote(self.name, safe='/')}&v={self.digest}"

    @property
    def etag(self) -> bytes:
        return f'"{self.digest}"'.encode()

    @property
    def gzip_etag(self) -> bytes:
        return f'"{self.digest}-gzip"'.encode()


def _load(path: Path, name: str) -> Asset:
    data = path.read_bytes()
    twin = path.with_name(path.name + ".gz")
    return Asset(
        name=name,
        path=path,
        content_type=_CONTENT_TYPES[path.suffix],
        digest=hashlib.sha256(data).hexdigest()[:16],
        integrity="sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode(),
        gzip_path=twin if twin.exists() else None,
    )


@lru_cache(maxsize=1)
def _manifest() -> dict:
    return json.loads((IDE_DIR / "pins.json").read_text())


@lru_cache(maxsize=1)
def _assets() -> dict[str, Asset]:
    """Every servable file by name (``<folder>/<file>``), hashed once per process."""
    assets = {}
    for path in sorted(IDE_DIR.rglob("*")):
        if path.is_file() and path.suffix in _CONTENT_TYPES:
            name = path.relative_to(IDE_DIR).as_posix()
            assets[name] = _load(path, name)
    return assets


def get_asset(name: str) -> Asset | None:
    """The asset called ``name``, or None (unknown names, and anything outside the folder)."""
    return _assets().get(name)


@lru_cache(maxsize=1)
def page_assets() -> dict[str, Asset]:
    """The assets by the names the templates use (``{{ ide_assets.graphiql.url }}``)."""
    packages = _manifest()["packages"]
    named = {alias: f"{packages[package]['directory']}/{file}" for alias, (package, file) in _PINNED_ALIASES.items()}
    named.update(_OWN_ALIASES)
    return {alias: _assets()[name] for alias, name in named.items()}


def cdn_pins() -> dict[str, dict[str, str]]:
    """The online-only IDEs' CDN files: pinned URLs with their integrity where one can be known."""
    return _manifest().get("cdn", {})


def accepts_gzip(accept_encoding: bytes | None) -> bool:
    """Whether an ``Accept-Encoding`` value admits gzip (``gzip`` or ``*`` with a non-zero q)."""
    if not accept_encoding:
        return False
    star = None
    for part in accept_encoding.decode("latin-1").lower().split(","):
        coding, _, params = part.partition(";")
        coding = coding.strip()
        if coding not in ("gzip", "x-gzip", "*"):
            continue
        q = 1.0
        name, _, value = params.partition("=")
        if name.strip() == "q":
            try:
                q = float(value)
            except ValueError:
                q = 0.0
        if coding == "*":
            star = q > 0
        else:
            return q > 0
    return bool(star)


def asset_reply(name: str, request_headers: Iterable[tuple[bytes, bytes]],
                version: str | None) -> tuple[int, list[tuple[bytes, bytes]], bytes]:
    """Status, headers and body for ``?ide-asset=name&v=version``: 200, or 304 (no body) when
    ``If-None-Match`` names the file's current ETag; an unknown name is refused with 404."""
    asset = get_asset(name)
    if asset is None:
        raise HTTPError(404, f"There is no IDE file {name!r}.")
    accept_encoding = if_none_match = None
    for header, value in request_headers:
        if header == b"accept-encoding":
            accept_encoding = value
        elif header == b"if-none-match":
            if_none_match = value
    gzipped = asset.gzip_path is not None and accepts_gzip(accept_encoding)
    etag = asset.gzip_etag if gzipped else asset.etag
    headers = [(b"content-type", asset.content_type), _IMMUTABLE if version == asset.digest else _REVALIDATE,
               (b"etag", etag), (b"x-content-type-options", b"nosniff")]
    if asset.gzip_path is not None:
        headers.append((b"vary", b"Accept-Encoding"))
    if if_none_match is not None and (if_none_match.strip() == b"*" or etag in (
            tag.strip().removeprefix(b"W/") for tag in if_none_match.split(b","))):
        return 304, headers, b""
    if gzipped:
        headers.append((b"content-encoding", b"gzip"))
    # Read per request, from the page cache in practice: browsers fetch each
    # file once and keep it, so holding them in memory would buy nothing.
    body = (asset.gzip_path if gzipped else asset.path).read_bytes()  # type: ignore[union-attr]
    return 200, headers, body
