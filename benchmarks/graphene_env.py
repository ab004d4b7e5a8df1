"""The virtualenv the Graphene ORM servers run in (``.venv-bench-graphene`` at the top of the
repository, git-ignored).

Graphene 3 pins graphql-core < 3.3 while the benchmark environment may have
3.3, so graphene-django cannot share it. The benchmark makes this venv itself
on first use (``python -m venv`` plus ``pip install`` from the package index)
with the same Django, Channels, uvicorn and uvloop versions as the running
environment, so the servers differ from the others only in the schema
library and graphql-core. django-gql-channels itself is not installed there:
the servers run with the worktree on ``PYTHONPATH``.
"""

from __future__ import annotations

import subprocess
import sys
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path

from .servers import ROOT

VENV = ROOT / ".venv-bench-graphene"
#: Written after a successful install: what was asked for, so a change reinstalls.
STAMP = VENV / "bench-requirements.txt"

GRAPHENE_PACKAGES = ["graphene>=3.3", "graphene-django", "django-filter", "graphql-core>=3.2.3,<3.3"]


def _same_as_here(name: str) -> str:
    try:
        return f"{name}=={version(name)}"
    except PackageNotFoundError:
        return name


def requirements() -> list[str]:
    return [*GRAPHENE_PACKAGES, *(_same_as_here(n) for n in ("django", "channels", "uvicorn", "uvloop", "httptools"))]


def python() -> Path:
    return VENV / "bin" / "python"


def ensure() -> Path:
    """The venv's interpreter, creating or updating the venv when needed (a minute or two the first time)."""
    wanted = "\n".join(requirements()) + "\n"
    if python().exists() and STAMP.exists() and STAMP.read_text() == wanted:
        return python()
    print(f"Installing the Graphene servers' virtualenv in {VENV.relative_to(ROOT)} ...", flush=True)
    if not python().exists():
        subprocess.run([sys.executable, "-m", "venv", str(VENV)], check=True)
    done = subprocess.run([str(python()), "-m", "pip", "install", "-q", "--disable-pip-version-check",
                           *requirements()], capture_output=True, text=True)
    if done.returncode:
        raise RuntimeError(f"pip install in {VENV} failed: {(done.stdout + done.stderr)[-1500:]}")
    STAMP.write_text(wanted)
    return python()


if __name__ == "__main__":
    print(ensure())
