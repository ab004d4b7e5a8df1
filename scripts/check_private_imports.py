"""Fail when a module imports an underscore name from another module of ours.

What modules share has a public name; ``_name`` stays inside the module that
defines it. Run by ``make lint`` over the package and the tests (ruff's SLF001
covers ``module._name`` attribute access).
"""

from __future__ import annotations

import ast
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PACKAGE = "django_gql_channels"
CHECKED = ("django_gql_channels", "tests", "benchmarks", "example_project")


def _is_private(name: str) -> bool:
    return name.startswith("_") and not (name.startswith("__") and name.endswith("__"))


def _ours(node: ast.ImportFrom) -> bool:
    return node.level > 0 or (node.module or "").split(".")[0] in (PACKAGE, "tests", "benchmarks", "example_project")


def problems(path: Path) -> list[str]:
    tree = ast.parse(path.read_text(), str(path))
    found = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and _ours(node):
            source = "." * node.level + (node.module or "")
            for alias in node.names:
                if _is_private(alias.name):
                    found.append(f"{path.relative_to(ROOT)}:{node.lineno}: imports {alias.name} from {source}")
    return found


def main() -> int:
    found = []
    for top in CHECKED:
        for path in sorted((ROOT / top).rglob("*.py")):
            if "node_modules" not in path.parts:
                found.extend(problems(path))
    for line in found:
        print(line)
    if found:
        print(f"{len(found)} underscore name(s) imported from another module: give what is shared a public name.")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
