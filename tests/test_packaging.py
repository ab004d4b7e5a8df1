"""The supported versions are declared in four places that must agree: pyproject.toml's
floors and classifiers, tox.ini's matrix and its lowest-dependencies env."""

from __future__ import annotations

import configparser
import itertools
import re
import tomllib

import django_gql_channels

from .doc_blocks import ROOT

PYPROJECT = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
TOX = configparser.ConfigParser(interpolation=None)
TOX.read(ROOT / "tox.ini", encoding="utf-8")


def _expand(name: str) -> list[str]:
    """tox's brace expansion: ``py3{12,13}-dj{52,60}`` -> four names."""
    parts = re.split(r"\{([^}]*)\}", name)
    choices = [[part] if index % 2 == 0 else part.split(",") for index, part in enumerate(parts)]
    return ["".join(combination) for combination in itertools.product(*choices)]


ENVS = [env for line in TOX["tox"]["env_list"].split() for env in _expand(line.strip())]


def _floors(requirements: list[str]) -> dict[str, str]:
    floors = {}
    for requirement in requirements:
        match = re.match(r"([A-Za-z0-9_.-]+)(?:\[[^]]*\])?.*?>=\s*([0-9.]+)", requirement)
        if match:
            floors[match.group(1).lower()] = match.group(2)
    return floors


def _release(version: str) -> tuple[int, ...]:
    numbers = tuple(int(part) for part in version.split("."))
    return numbers + (0,) * (3 - len(numbers))


def test_the_lowest_env_pins_every_declared_floor():
    project = PYPROJECT["project"]
    floors = _floors(project["dependencies"] + project["optional-dependencies"]["redis"])
    pins = dict(
        (name.lower(), version)
        for name, version in re.findall(r"^\s*([A-Za-z0-9_.-]+)==([0-9.]+)\s*$", TOX["testenv:py311-lowest"]["deps"],
                                        flags=re.MULTILINE)
    )
    assert set(pins) == set(floors)
    assert {name: _release(pin) for name, pin in pins.items()} == {
        name: _release(floor) for name, floor in floors.items()}


def test_classifiers_and_requires_python_match_the_tox_matrix():
    project = PYPROJECT["project"]
    pythons = {f"3.{match}" for env in ENVS for match in re.findall(r"^py3(\d+)", env)}
    djangos = {f"{m[0]}.{m[1:]}" for env in ENVS for m in re.findall(r"-dj(\d+)", env)}
    classifiers = project["classifiers"]
    assert {c.rsplit(" :: ", 1)[1] for c in classifiers
            if re.fullmatch(r"Programming Language :: Python :: 3\.\d+", c)} == pythons
    assert {c.rsplit(" :: ", 1)[1] for c in classifiers if re.fullmatch(r"Framework :: Django :: [\d.]+", c)} == djangos
    oldest_python = min(pythons, key=_release)
    assert project["requires-python"] == f">={oldest_python}"
    assert f"py{oldest_python.replace('.', '')}-lowest" in ENVS
    assert _floors(project["dependencies"])["django"] == min(djangos, key=_release)


def test_one_source_for_the_version():
    assert "version" in PYPROJECT["project"]["dynamic"]
    assert PYPROJECT["tool"]["setuptools"]["dynamic"]["version"] == {"attr": "django_gql_channels.__version__"}
    assert re.fullmatch(r"\d+\.\d+\.\d+", django_gql_channels.__version__)
