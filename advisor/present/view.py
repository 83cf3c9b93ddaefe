"""The view: what one command shows, in every format. Presenters build it from result objects; emit() writes it.

The JSON side holds the envelope parts (command, machine, results, extra keys); the people side holds sections
(lines before, a table, lines after) and notes; csv and markdown write the main table.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.estimate.machine import Machine


@dataclass(frozen=True, slots=True)
class Line:
    """One line for people, printed with rich markup; dim lines are asides, wrap lines run past the width."""

    text: str
    dim: bool = False
    wrap: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """Cells as shown. Columns are right-aligned unless in `left`; they never wrap unless in `wrap` (long words end
    in an ellipsis) or `fold` (long words fold); `widths` caps a column's width in characters."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None
    left: frozenset[str] = frozenset()
    widths: Mapping[str, int] = field(default_factory=dict)
    wrap: frozenset[str] = frozenset()
    fold: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class Section:
    before: tuple[Line, ...] = ()
    table: Table | None = None
    after: tuple[Line, ...] = ()


@dataclass(frozen=True, slots=True)
class View:
    """One command's output. `main` is the table csv and markdown write (default: the first section's table);
    `document`, where set, is a whole text that the markdown format writes as it is."""

    command: str
    machine: Machine | None = None
    results: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    sections: tuple[Section, ...] = ()
    notes: tuple[str, ...] = ()
    main: Table | None = None
    document: str | None = None

    def main_table(self) -> Table:
        found = self.main or next((s.table for s in self.sections if s.table is not None), None)
        return found if found is not None else Table(headers=(), rows=())


def table(headers: list[str] | tuple[str, ...], rows: list[list[str]] | tuple[tuple[str, ...], ...], *,
          title: str | None = None, left: frozenset[str] = frozenset(), widths: Mapping[str, int] | None = None,
          wrap: frozenset[str] = frozenset(), fold: frozenset[str] = frozenset()) -> Table:
    """A Table from lists (the row builders' shape)."""
    return Table(tuple(headers), tuple(tuple(row) for row in rows), title=title, left=left, widths=dict(widths or {}),
                 wrap=wrap, fold=fold)


def notes_lines(notes: tuple[str, ...] | list[str]) -> tuple[Line, ...]:
    """Each distinct note once, dim, in order."""
    return tuple(Line(f"note: {note}", dim=True) for note in dict.fromkeys(notes))
