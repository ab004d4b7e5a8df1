"""Plain-text tables and goal lines for the benchmark output."""

from __future__ import annotations


class Table:
    def __init__(self, headers: list[str], *, title: str = "") -> None:
        self.title = title
        self.headers = headers
        self.rows: list[list[str]] = []

    def add(self, row: list[str]) -> None:
        self.rows.append(row)

    def render(self) -> str:
        widths = [max(len(str(cell)) for cell in column) for column in zip(self.headers, *self.rows)]

        def line(cells: list[str]) -> str:
            # first column left-aligned (names), the rest right-aligned (figures)
            return "  ".join(str(c).ljust(w) if i == 0 else str(c).rjust(w)
                             for i, (c, w) in enumerate(zip(cells, widths))).rstrip()

        rule = "  ".join("-" * w for w in widths)
        out = [self.title] if self.title else []
        out += [line(self.headers), rule] + [line(r) for r in self.rows]
        return "\n".join(out)


def goal_line(label: str, ratio: float, target: float, *, higher_is_better: bool = True) -> tuple[str, bool]:
    """``PASS``/``MISS`` line for a ratio against its target."""
    passed = ratio >= target if higher_is_better else ratio <= target
    sign = ">=" if higher_is_better else "<="
    return f"[{'PASS' if passed else 'MISS'}] {label}: {ratio:.2f} (goal {sign} {target:g})", passed
