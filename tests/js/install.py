"""Install the JavaScript test clients (``npm ci`` in tests/js) unless they are current.

``make install`` and every tox env run this. ``npm ci`` always deletes
``node_modules`` and installs again, which costs minutes on a slow link; npm's own
record of the last install (``node_modules/.package-lock.json``) being newer than
``package-lock.json`` means nothing changed since, so it is skipped.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

HERE = Path(__file__).resolve().parent


def main() -> int:
    lock = HERE / "package-lock.json"
    installed = HERE / "node_modules" / ".package-lock.json"
    if installed.exists() and installed.stat().st_mtime >= lock.stat().st_mtime:
        print("tests/js: node_modules matches package-lock.json")
        return 0
    npm = shutil.which("npm")
    if npm is None:
        print("tests/js: npm not found; the JavaScript client tests will skip", file=sys.stderr)
        return 1 if os.environ.get("CI") else 0
    return subprocess.call([npm, "ci", "--no-audit", "--no-fund", "--loglevel=error"], cwd=HERE)


if __name__ == "__main__":
    sys.exit(main())
