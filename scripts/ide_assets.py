"""Vendor GraphiQL's browser files into the package, pinned and verified.

The IDE page must work without internet access, so the files it loads ship in
the wheel under ``django_gql_channels/static/django_gql_channels/ide/``: one
folder per npm package (``<name>-<version>``) holding the files taken from its
tarball, a gzip twin of each (served to clients that accept gzip), and the
package's licence. ``pins.json`` beside them records, for every package, the
tarball's ``dist.integrity`` and each file's SHA-384 and size;
``tests/http/test_ide_assets.py`` fails when the shipped files and the pins below
disagree.

Usage (from the repository root; needs ``npm``, which reads the registry)::

    python scripts/ide_assets.py fetch     # download the pinned tarballs, verify, write the files
    python scripts/ide_assets.py check     # download again and compare with what is shipped
    python scripts/ide_assets.py verify    # offline: shipped files against pins.json

To upgrade a package: change its ``version`` below, set ``integrity`` to the
new version's ``npm view <name>@<version> dist.integrity``, run ``fetch``,
then the browser tests (``tests/e2e/test_ide_browser.py``).
"""

from __future__ import annotations

import argparse
import base64
import gzip
import hashlib
import io
import json
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
IDE_DIR = ROOT / "django_gql_channels" / "static" / "django_gql_channels" / "ide"
MANIFEST = IDE_DIR / "pins.json"
# Our own files (the page's script and style) live here, outside the pins.
OWN_DIR_NAME = "page"


@dataclass(frozen=True)
class Pin:
    name: str
    version: str
    #: the registry's ``dist.integrity`` of the tarball (SRI form)
    integrity: str
    #: path inside the tarball -> file name in the package's folder
    files: dict[str, str] = field(default_factory=dict)
    #: licence file name in the folder -> (package spec, path inside that tarball)
    licences: dict[str, tuple[str, str]] = field(default_factory=dict)
    licence: str = "MIT"
    note: str = ""

    @property
    def spec(self) -> str:
        return f"{self.name}@{self.version}"

    @property
    def directory(self) -> str:
        return f"{self.name.lstrip('@').replace('/', '-')}-{self.version}"


PINS: tuple[Pin, ...] = (
    Pin("react", "18.3.1",
        "sha512-wS+hAgJShR0KhEvPJArfuPVN1+Hz1t0Y6n5jLrGQbkb4urgPE/0Rve+1kMB1v/oWgHgm4WIcV+i7F2pTVj+2iQ==",
        files={"package/umd/react.production.min.js": "react.production.min.js"},
        licences={"LICENSE": ("react@18.3.1", "package/LICENSE")}),
    Pin("react-dom", "18.3.1",
        "sha512-5m4nQKp+rZRb09LNH59GM4BxTh9251/ylbKIbpe7TpGxfJ+9kv6BLkLBXIjjspbgbnIBNqlI23tRnTWT0snUIw==",
        files={"package/umd/react-dom.production.min.js": "react-dom.production.min.js"},
        licences={"LICENSE": ("react-dom@18.3.1", "package/LICENSE")}),
    # The last major version with a UMD build (5.x is ESM only). Its bundle
    # includes @graphiql/toolkit's fetcher and the graphql-ws client, so
    # subscriptions need no separate graphql-ws file.
    Pin("graphiql", "4.1.2",
        "sha512-rNlzQIAzm6i2KBXmVQWBgLvt0TloxFVB2d18bukvdsvjEuFDHsKx5IVOomL1W1o5WW+tE54+ioHb2AEKzO2cUg==",
        files={"package/graphiql.min.js": "graphiql.min.js", "package/graphiql.min.css": "graphiql.min.css"},
        licences={"LICENSE": ("graphiql@4.1.2", "package/LICENSE")}),
    Pin("@graphiql/plugin-explorer", "4.0.6",
        "sha512-TppIi92YPER3v70nlF01KTQrq9AiYqkZicSd1hpU7aqGmbqw/pLwBNLUEcfENBoJtw574Qxjswb01+GaYK0Tzw==",
        files={"package/dist/index.umd.js": "plugin-explorer.umd.js", "package/dist/style.css": "plugin-explorer.css"},
        licences={"LICENSE": ("graphiql@4.1.2", "package/LICENSE"),
                  "LICENSE.graphiql-explorer": ("graphiql-explorer@0.9.0", "package/LICENSE")},
        note="The tarball ships no licence file: it is MIT (package.json) from the graphiql monorepo, whose "
             "LICENSE is taken from the graphiql tarball. The UMD file bundles graphiql-explorer 0.9.0 (MIT), "
             "whose licence is LICENSE.graphiql-explorer."),
)

# Packages read only for a licence text or a CDN file's hash, pinned the same way.
LICENCE_SOURCES = {
    "graphiql-explorer@0.9.0":
        "sha512-fZC/wsuatqiQDO2otchxriFO0LaWIo/ovF/CQJ1yOudmY0P7pzDiP+l9CEHUiWbizk3e99x6DQG4XG1VxA+d6A==",
    "@pathfinder-ide/react@0.2.6":
        "sha512-nFMgC8vuw4k6RLvBARoM/IVmVoez8TTDKEB43YtQHs776iYQgNMusZH7/I2bZsHhnZeOJsTtYfaT+7GvSFZH4w==",
}

# The online-only IDEs (too big, or not self-contained, to ship): their CDN
# files at exact versions. A file a CDN serves byte for byte as published on
# npm gets its integrity from the pinned tarball; files a CDN builds on
# request (esm.sh) or publishes outside npm (Apollo's) have no stable bytes
# to hash here, and say why.
CDN_PINS: dict[str, dict[str, str]] = {
    "apollo_sandbox": {
        "url": "https://embeddable-sandbox.cdn.apollographql.com/v2/embeddable-sandbox.umd.production.min.js",
        "no_integrity": "Apollo publishes this file only on its CDN, per major version (v2), not on npm; "
                        "the Sandbox itself runs in an iframe from sandbox.embed.apollographql.com.",
    },
    "pathfinder_css": {
        "url": "https://unpkg.com/@pathfinder-ide/react@0.2.6/dist/style.css",
        "from": "@pathfinder-ide/react@0.2.6:package/dist/style.css",
    },
    "pathfinder": {
        "url": "https://esm.sh/@pathfinder-ide/react@0.2.6?deps=react@18.3.1,react-dom@18.3.1&target=es2022",
        "no_integrity": "esm.sh builds the module (and its dependencies) on request.",
    },
    "react": {"url": "https://esm.sh/react@18.3.1?target=es2022",
              "no_integrity": "esm.sh builds the module on request."},
    "react_dom_client": {"url": "https://esm.sh/react-dom@18.3.1/client?deps=react@18.3.1&target=es2022",
                         "no_integrity": "esm.sh builds the module on request."},
}


def sri(algorithm: str, data: bytes) -> str:
    return f"{algorithm}-{base64.b64encode(hashlib.new(algorithm, data).digest()).decode()}"


def gzipped(data: bytes) -> bytes:
    # mtime=0: the same input gives the same bytes, so a re-fetch leaves git clean.
    return gzip.compress(data, compresslevel=9, mtime=0)


class Tarballs:
    """Pinned npm tarballs, downloaded once each with ``npm pack`` and checked against their integrity."""

    def __init__(self, workdir: Path) -> None:
        self.workdir = workdir
        self.integrity = {pin.spec: pin.integrity for pin in PINS} | LICENCE_SOURCES
        self._cache: dict[str, tarfile.TarFile] = {}

    def get(self, spec: str) -> tarfile.TarFile:
        if spec not in self._cache:
            self._cache[spec] = self._download(spec)
        return self._cache[spec]

    def _download(self, spec: str) -> tarfile.TarFile:
        npm = shutil.which("npm")
        if npm is None:
            sys.exit("npm is needed to download the pinned packages.")
        result = subprocess.run([npm, "pack", spec, "--json", "--pack-destination", str(self.workdir)],
                                capture_output=True, text=True, cwd=self.workdir)
        if result.returncode != 0:
            sys.exit(f"npm pack {spec} failed:\n{result.stderr}")
        filename = json.loads(result.stdout)[0]["filename"]
        data = (self.workdir / filename).read_bytes()
        expected = self.integrity[spec]
        actual = sri(expected.split("-", 1)[0], data)
        if actual != expected:
            sys.exit(f"{spec}: the tarball's integrity is {actual}, the pin says {expected}. "
                     "Refusing to vendor it.")
        return tarfile.open(fileobj=io.BytesIO(data), mode="r:gz")

    def read(self, spec: str, member: str) -> bytes:
        extracted = self.get(spec).extractfile(member)
        if extracted is None:
            sys.exit(f"{spec} has no file {member}.")
        return extracted.read()


def build(tarballs: Tarballs) -> dict[str, dict[str, bytes]]:
    """Every vendored folder's files (name -> bytes), and the manifest under ``pins.json``."""
    folders: dict[str, dict[str, bytes]] = {}
    manifest: dict[str, object] = {
        "comment": "Written by scripts/ide_assets.py: pinned npm packages and the files taken from them.",
        "packages": {},
    }
    for pin in PINS:
        files: dict[str, bytes] = {}
        entries = {}
        for member, name in pin.files.items():
            data = tarballs.read(pin.spec, member)
            files[name] = data
            files[name + ".gz"] = gzipped(data)
            entries[name] = {"from": member, "size": len(data), "sha384": sri("sha384", data)}
        licences = {}
        for name, (spec, member) in pin.licences.items():
            data = tarballs.read(spec, member)
            files[name] = data
            licences[name] = {"from": f"{spec}:{member}", "sha384": sri("sha384", data)}
        folders[pin.directory] = files
        manifest["packages"][pin.name] = {  # type: ignore[index]
            "version": pin.version, "integrity": pin.integrity, "license": pin.licence,
            "directory": pin.directory, "files": entries, "licences": licences,
            **({"note": pin.note} if pin.note else {}),
        }
    cdn = {}
    for name, pin in CDN_PINS.items():
        entry = dict(pin)
        source = entry.pop("from", None)
        if source is not None:
            spec, member = source.rsplit(":", 1)
            entry["integrity"] = sri("sha384", tarballs.read(spec, member))
            entry["from"] = source
        cdn[name] = entry
    manifest["cdn"] = cdn
    folders[""] = {"pins.json": (json.dumps(manifest, indent=2) + "\n").encode()}
    return folders


def vendored_dirs() -> list[Path]:
    return [path for path in IDE_DIR.iterdir() if path.is_dir() and path.name != OWN_DIR_NAME]


def write(folders: dict[str, dict[str, bytes]]) -> None:
    IDE_DIR.mkdir(parents=True, exist_ok=True)
    wanted = {name for name in folders if name}
    for stale in vendored_dirs():
        if stale.name not in wanted:
            shutil.rmtree(stale)
    for folder, files in folders.items():
        target = IDE_DIR / folder
        if folder:
            shutil.rmtree(target, ignore_errors=True)
            target.mkdir()
        for name, data in files.items():
            (target / name).write_bytes(data)
            print(f"wrote {(target / name).relative_to(ROOT)} ({len(data):,} bytes)")


def check(folders: dict[str, dict[str, bytes]]) -> list[str]:
    """What differs between freshly downloaded files and the shipped ones (gzip twins compared decompressed)."""
    problems = []
    for folder, files in folders.items():
        for name, data in files.items():
            path = IDE_DIR / folder / name
            if not path.exists():
                problems.append(f"{path.relative_to(ROOT)} is missing")
                continue
            shipped = path.read_bytes()
            if name.endswith(".gz"):
                shipped, data = gzip.decompress(shipped), gzip.decompress(data)
            if shipped != data:
                problems.append(f"{path.relative_to(ROOT)} differs from the pinned package")
    return problems


def verify() -> list[str]:
    """Offline: the shipped files against ``pins.json``, and ``pins.json`` against ``PINS``.

    Returns the problems found (empty when all is well).
    """
    problems = []
    if not MANIFEST.exists():
        return [f"{MANIFEST.relative_to(ROOT)} is missing: run `python scripts/ide_assets.py fetch`"]
    packages = json.loads(MANIFEST.read_text())["packages"]
    pinned = {pin.name: pin for pin in PINS}
    if set(packages) != set(pinned):
        problems.append(f"pins.json lists {sorted(packages)}, the script pins {sorted(pinned)}")
    for name, entry in packages.items():
        pin = pinned.get(name)
        if pin is None:
            continue
        if (entry["version"], entry["integrity"], entry["directory"]) != (pin.version, pin.integrity, pin.directory):
            problems.append(f"{name}: pins.json says {entry['version']} {entry['integrity']}, "
                            f"the script pins {pin.version} {pin.integrity}: run fetch")
        folder = IDE_DIR / entry["directory"]
        expected = set()
        for file_name, meta in entry["files"].items():
            expected |= {file_name, file_name + ".gz"}
            path = folder / file_name
            if not path.exists():
                problems.append(f"{name}: {file_name} is missing")
                continue
            data = path.read_bytes()
            if len(data) != meta["size"] or sri("sha384", data) != meta["sha384"]:
                problems.append(f"{name}: {file_name} does not match its pin")
            twin = folder / (file_name + ".gz")
            if not twin.exists() or gzip.decompress(twin.read_bytes()) != data:
                problems.append(f"{name}: {file_name}.gz is missing or does not decompress to {file_name}")
        for licence_name, meta in entry["licences"].items():
            expected.add(licence_name)
            path = folder / licence_name
            if not path.exists() or sri("sha384", path.read_bytes()) != meta["sha384"]:
                problems.append(f"{name}: licence {licence_name} is missing or altered")
        if folder.is_dir():
            extra = {p.name for p in folder.iterdir()} - expected
            if extra:
                problems.append(f"{name}: files not taken from the pinned package: {sorted(extra)}")
    cdn = json.loads(MANIFEST.read_text()).get("cdn", {})
    if {name: entry["url"] for name, entry in cdn.items()} != {name: pin["url"] for name, pin in CDN_PINS.items()}:
        problems.append("pins.json's CDN URLs differ from CDN_PINS: run fetch")
    known = {entry["directory"] for entry in packages.values()}
    for folder in vendored_dirs():
        if folder.name not in known:
            problems.append(f"{folder.relative_to(ROOT)} is not a pinned package")
    return problems


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("command", choices=["fetch", "check", "verify"])
    args = parser.parse_args(argv)
    if args.command == "verify":
        problems = verify()
    else:
        with tempfile.TemporaryDirectory() as workdir:
            folders = build(Tarballs(Path(workdir)))
            if args.command == "fetch":
                write(folders)
                problems = verify()
            else:
                problems = check(folders) + verify()
    for problem in problems:
        print(problem, file=sys.stderr)
    if not problems:
        print(f"{args.command}: the IDE files match their pins.")
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
