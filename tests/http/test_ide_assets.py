"""The IDE's files: shipped as pinned, served by the endpoint with caching, gzip and integrity."""

from __future__ import annotations

import base64
import gzip
import hashlib
import importlib.util
import json
import re
import shutil
import sys
from pathlib import Path
from urllib.parse import parse_qsl

import pytest

from django_gql_channels import GraphQLHTTPConsumer
from django_gql_channels.http.assets import IDE_DIR, accepts_gzip, get_asset, page_assets
from django_gql_channels.http.ide import render_ide_page
from example_project.schema import schema as example_schema
from tests.http.test_http import BROWSER_ACCEPT, assert_json_error, call

ROOT = Path(__file__).resolve().parents[2]


def load_script():
    """scripts/ide_assets.py, the script that fetched the files (not part of the package)."""
    name = "ide_assets_script"
    if name not in sys.modules:
        spec = importlib.util.spec_from_file_location(name, ROOT / "scripts" / "ide_assets.py")
        module = importlib.util.module_from_spec(spec)
        sys.modules[name] = module  # its dataclasses resolve annotations through it
        spec.loader.exec_module(module)
    return sys.modules[name]


def app(ide="graphiql"):
    return GraphQLHTTPConsumer.as_asgi(schema=example_schema, graphql_ide=ide)


def sha384(data: bytes) -> str:
    return "sha384-" + base64.b64encode(hashlib.sha384(data).digest()).decode()


# -- what ships --------------------------------------------------------------------


def test_shipped_files_match_their_pins():
    assert load_script().verify() == []


def test_pins_are_exact_versions_with_registry_integrity():
    script = load_script()
    manifest = json.loads((IDE_DIR / "pins.json").read_text())
    for pin in script.PINS:
        assert re.fullmatch(r"\d+\.\d+\.\d+", pin.version), pin
        assert pin.integrity.startswith("sha512-"), pin
        entry = manifest["packages"][pin.name]
        assert entry["license"] == "MIT"
        assert (IDE_DIR / entry["directory"] / "LICENSE").read_text().startswith("MIT License")
    # graphiql 4 is the last major with a UMD build; React 18 the last with UMD files.
    assert manifest["packages"]["graphiql"]["version"].startswith("4.")
    assert manifest["packages"]["react"]["version"].startswith("18.")


@pytest.fixture
def ide_copy(tmp_path, monkeypatch):
    """The script pointed at a copy of the shipped folder, to tamper with."""
    script = load_script()
    copy = tmp_path / "ide"
    shutil.copytree(IDE_DIR, copy)
    monkeypatch.setattr(script, "IDE_DIR", copy)
    monkeypatch.setattr(script, "MANIFEST", copy / "pins.json")
    monkeypatch.setattr(script, "ROOT", tmp_path)
    return script, copy


def test_a_changed_file_fails_verification(ide_copy):
    script, copy = ide_copy
    target = copy / "graphiql-4.1.2" / "graphiql.min.js"
    target.write_bytes(target.read_bytes().replace(b"GraphiQL", b"GraphiQl", 1))
    problems = script.verify()
    assert any("graphiql.min.js does not match its pin" in p for p in problems)
    assert any("graphiql.min.js.gz is missing or does not decompress" in p for p in problems)


def test_a_stale_gzip_twin_a_missing_licence_and_a_stray_file_fail_verification(ide_copy):
    script, copy = ide_copy
    folder = copy / "react-18.3.1"
    (folder / "react.production.min.js.gz").write_bytes(gzip.compress(b"old"))
    (folder / "LICENSE").unlink()
    (folder / "extra.js").write_text("alert(1)")
    (copy / "left-over-1.0.0").mkdir()
    problems = script.verify()
    assert any("react.production.min.js.gz is missing or does not decompress" in p for p in problems)
    assert any("licence LICENSE is missing" in p for p in problems)
    assert any("files not taken from the pinned package: ['extra.js']" in p for p in problems)
    assert any("left-over-1.0.0 is not a pinned package" in p for p in problems)


def test_a_pin_changed_without_fetching_fails_verification(ide_copy, monkeypatch):
    script, _ = ide_copy
    react = next(pin for pin in script.PINS if pin.name == "react")
    bumped = type(react)(**{**react.__dict__, "version": "18.3.2"})
    monkeypatch.setattr(script, "PINS", tuple(bumped if pin is react else pin for pin in script.PINS))
    assert any("react: pins.json says 18.3.1" in p for p in script.verify())


# -- serving ---------------------------------------------------------------------


def asset_query(alias: str, version: str | None = "current") -> str:
    asset = page_assets()[alias]
    query = f"ide-asset={asset.name}"
    if version is not None:
        query += f"&v={asset.digest if version == 'current' else version}"
    return query


async def test_an_asset_is_served_gzipped_and_immutable():
    asset = page_assets()["graphiql"]
    reply = await call(app(), "GET", content_type=None, accept="*/*", query_string=asset_query("graphiql"),
                       headers=[("accept-encoding", "gzip, deflate, br, zstd")])
    assert reply.status == 200
    assert reply.header("content-type") == "text/javascript; charset=utf-8"
    assert reply.header("content-encoding") == "gzip"
    assert reply.header("cache-control") == "public, max-age=31536000, immutable"
    assert reply.header("vary") == "Accept-Encoding"
    assert reply.header("x-content-type-options") == "nosniff"
    assert gzip.decompress(reply.body) == asset.path.read_bytes()
    assert len(reply.body) < len(asset.path.read_bytes()) / 2


async def test_clients_refusing_gzip_get_the_plain_file():
    asset = page_assets()["graphiql_css"]
    for accept_encoding in (None, "identity", "gzip;q=0, br"):
        headers = [("accept-encoding", accept_encoding)] if accept_encoding else []
        reply = await call(app(), "GET", content_type=None, accept="text/css,*/*;q=0.1",
                           query_string=asset_query("graphiql_css"), headers=headers)
        assert reply.status == 200
        assert reply.header("content-encoding") is None
        assert reply.header("content-type") == "text/css; charset=utf-8"
        assert reply.body == asset.path.read_bytes()


@pytest.mark.parametrize("version", [None, "0123456789abcdef"])
async def test_an_unversioned_or_outdated_url_still_works_but_revalidates(version):
    reply = await call(app(), "GET", content_type=None, query_string=asset_query("react", version))
    assert reply.status == 200
    assert reply.header("cache-control") == "no-cache"


async def test_our_own_files_have_no_gzip_twin_and_need_none():
    reply = await call(app(), "GET", content_type=None, query_string=asset_query("graphiql_page"),
                       headers=[("accept-encoding", "gzip")])
    assert reply.status == 200
    assert reply.header("content-encoding") is None and reply.header("vary") is None
    assert b"createFetcher" in reply.body


async def send_raw(application, query_string: str, headers: list[tuple[bytes, bytes]]) -> list[dict]:
    scope = {"type": "http", "method": "GET", "path": "/graphql", "query_string": query_string.encode(),
             "headers": [(b"host", b"testserver"), *headers], "scheme": "http", "root_path": ""}
    sent = []

    async def receive():
        return {"type": "http.request", "body": b""}

    async def send(message):
        sent.append(message)

    await application(scope, receive, send)
    return sent


async def test_a_current_copy_gets_304_without_a_body():
    first = await call(app(), "GET", content_type=None, query_string=asset_query("react_dom"),
                       headers=[("accept-encoding", "gzip")])
    etag = first.header("etag")
    start, body = await send_raw(app(), asset_query("react_dom"),
                                 [(b"accept-encoding", b"gzip"), (b"if-none-match", f'W/"x", {etag}'.encode())])
    assert start["status"] == 304
    assert dict(start["headers"])[b"etag"] == etag.encode()
    assert b"content-length" not in dict(start["headers"])
    assert body["body"] == b""
    # The plain and the gzipped file are different representations: different tags.
    plain = await call(app(), "GET", content_type=None, query_string=asset_query("react_dom"))
    assert plain.header("etag") != etag


@pytest.mark.parametrize("name", ["nope.js", "../http/consumer.py", "pins.json", "react-18.3.1/LICENSE",
                                  "graphiql-4.1.2/graphiql.min.js.gz", "/etc/passwd"])
async def test_only_the_ide_files_are_served(name):
    reply = await call(app(), "GET", content_type=None, query_string=f"ide-asset={name}")
    assert_json_error(reply, 404, "There is no IDE file")


async def test_no_files_when_the_ide_is_off():
    reply = await call(app(None), "GET", content_type=None, accept=BROWSER_ACCEPT,
                       query_string=asset_query("graphiql"))
    assert reply.status == 404


@pytest.mark.parametrize(("value", "expected"), [
    (None, False), ("", False), ("gzip", True), ("GZIP", True), ("deflate, gzip;q=0.5", True),
    ("gzip;q=0", False), ("gzip; q=0.0", False), ("*", True), ("*;q=0", False), ("br, *", True),
    ("gzip;q=0, *", False), ("x-gzip", True), ("identity", False), ("gzip;q=oops", False),
])
def test_accept_encoding(value, expected):
    assert accepts_gzip(value.encode() if value is not None else None) is expected


# -- the page ----------------------------------------------------------------------


async def test_every_file_the_page_names_is_served_with_the_integrity_it_claims():
    html = render_ide_page("graphiql")
    tags = re.findall(r'(?:src|href)="\?([^"]+)" integrity="([^"]+)"', html)
    assert len(tags) == 9  # 3 style sheets, 6 scripts
    for query, integrity in tags:
        query = query.replace("&amp;", "&")
        reply = await call(app(), "GET", content_type=None, query_string=query)
        assert reply.status == 200, query
        assert sha384(reply.body) == integrity, query
        assert reply.header("cache-control") == "public, max-age=31536000, immutable"
        assert get_asset(dict(parse_qsl(query))["ide-asset"]) is not None


async def test_graphiql_page_is_sent_with_a_strict_csp_and_a_fresh_nonce():
    replies = [await call(app(), "GET", content_type=None, accept=BROWSER_ACCEPT) for _ in range(2)]
    policies = [reply.header("content-security-policy") for reply in replies]
    for policy in policies:
        directives = dict(d.strip().split(" ", 1) for d in policy.split(";"))
        assert directives["default-src"] == "'none'"
        assert re.fullmatch(r"'self' 'nonce-[\w-]{24}'", directives["script-src"])
        assert directives["connect-src"] == "'self'"
        assert "unsafe" not in policy
    assert policies[0] != policies[1]
    assert replies[0].header("cache-control") == "no-cache"


@pytest.mark.parametrize("ide", ["apollo-sandbox", "pathfinder"])
async def test_online_ides_get_no_csp_from_us(ide):
    # Their code comes from CDNs and iframes we cannot vouch for; a project's own policy applies.
    reply = await call(app(ide), "GET", content_type=None, accept=BROWSER_ACCEPT)
    assert reply.header("content-security-policy") is None


def test_an_overriding_template_gets_the_nonce_and_the_assets(tmp_path: Path, settings):
    (tmp_path / "django_gql_channels").mkdir()
    (tmp_path / "django_gql_channels" / "graphiql.html").write_text(
        '<script nonce="{{ csp_nonce }}">go()</script><script src="{{ ide_assets.graphiql.url }}"></script>')
    settings.TEMPLATES = [{"BACKEND": "django.template.backends.django.DjangoTemplates",
                           "DIRS": [str(tmp_path)], "APP_DIRS": True}]
    html = render_ide_page("graphiql", nonce="abc")
    assert html.startswith('<script nonce="abc">go()</script><script src="?ide-asset=graphiql-4.1.2/graphiql.min.js')
