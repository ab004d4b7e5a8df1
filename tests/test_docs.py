"""The docs build cleanly, and the generated parts cover the code."""

from __future__ import annotations

import os
import re
import subprocess
import sys

import pytest

import django_gql_channels
from django_gql_channels import conf

from .doc_blocks import ROOT


def test_every_setting_has_a_description():
    # docs/settings.rst is generated from these: a key without a text would
    # be missing from the reference (and fails the docs build).
    assert [key for key in conf.DEFAULTS if not str(conf.DESCRIPTIONS.get(key, "")).strip()] == []
    assert [key for key in conf.DESCRIPTIONS if key not in conf.DEFAULTS] == []


def test_every_public_name_is_in_the_api_reference():
    reference = (ROOT / "docs" / "reference.rst").read_text(encoding="utf-8")
    # Each entry is a definition-list term: ``[module.]Name[.method](...)``.
    terms = re.findall(r"^``([\w.]+)", reference, flags=re.MULTILINE)
    documented = {part for term in terms for part in term.split(".")}
    assert [name for name in django_gql_channels.__all__ if name not in documented] == []


def test_docs_build_without_warnings(tmp_path):
    """``make docs``: Sphinx with warnings as errors (the dummy builder resolves
    every reference as the HTML one does, without writing pages)."""
    pytest.importorskip("sphinx", reason="the docs extra is not installed (make install installs it)")
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    result = subprocess.run(
        [sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-E", "-b", "dummy",
         "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "out")],
        capture_output=True, text=True, env=env, timeout=120, check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
