"""Code blocks of README.rst and docs/*.rst, for the tests that run them.

A block is a ``.. code-block:: LANG`` directive and its indented body. The
comment ``.. doc-example: skip <reason>`` on the line before the directive
(blank lines between allowed) opts a block out.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
DOC_FILES = [ROOT / "README.rst", *sorted((ROOT / "docs").glob("*.rst"))]

_DIRECTIVE = re.compile(r"^(?P<indent>\s*)\.\. code-block::\s*(?P<lang>\S+)\s*$")
_SKIP = re.compile(r"^\s*\.\. doc-example:\s*skip\b")


@dataclass(frozen=True)
class Block:
    path: Path
    line: int  # 1-based line of the directive
    lang: str
    code: str
    skipped: bool

    @property
    def id(self) -> str:
        return f"{self.path.relative_to(ROOT)}:{self.line}"


def _body(lines: list[str], start: int, indent: int) -> str:
    """The block's content: the lines after the options, indented deeper than the directive."""
    body: list[str] = []
    i = start
    # Directive options (":linenos:" ...) come first.
    while i < len(lines) and lines[i].strip().startswith(":"):
        i += 1
    for line in lines[i:]:
        if line.strip() and len(line) - len(line.lstrip()) <= indent:
            break
        body.append(line)
    text = "\n".join(body).strip("\n")
    depth = min((len(x) - len(x.lstrip()) for x in text.splitlines() if x.strip()), default=0)
    return "\n".join(x[depth:] for x in text.splitlines()) + "\n"


def blocks(lang: str | None = None) -> list[Block]:
    found: list[Block] = []
    for path in DOC_FILES:
        lines = path.read_text(encoding="utf-8").splitlines()
        for number, line in enumerate(lines):
            match = _DIRECTIVE.match(line)
            if not match or (lang is not None and match["lang"] != lang):
                continue
            before = next((x for x in reversed(lines[:number]) if x.strip()), "")
            found.append(Block(path, number + 1, match["lang"],
                               _body(lines, number + 1, len(match["indent"])), bool(_SKIP.match(before))))
    return found
