"""The view: what one command shows, in every format. Presenters build it from result objects; emit() writes it.

The JSON side holds the envelope parts (command, machine, results, extra keys); the people side holds sections
(lines before, a table, lines after) and notes; csv and markdown write the main table.

Every string here is plain text, never rich markup: the emitter escapes control characters (`emit.safe`) and shows
`[bold]` as written.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from advisor.estimate.machine import Machine


@dataclass(frozen=True, slots=True)
class Line:
    """One line for people (plain text); dim lines are asides. On a terminal a line wraps at words; a `command`
    line breaks between its words with ` \\` continuations, so that it still pastes into a shell."""

    text: str
    dim: bool = False
    command: bool = False


@dataclass(frozen=True, slots=True)
class Table:
    """Cells as shown. Columns are right-aligned unless in `left`; they never wrap unless in `wrap` (long words end
    in an ellipsis) or `fold` (long words fold). On a narrow terminal, `names` columns shorten first (ending in an
    ellipsis, the only cells that ever do), then the columns in `drop` go, first to last; `widths` caps a names,
    wrap or fold column's width in characters. Numbers are never cut.

    CSV: `csv_headers` renames a header (to carry its unit); `id_column` = (after, header) adds a column of `ids`
    (one per row: a model's or GPU's catalog id) after the column named `after`."""

    headers: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    title: str | None = None
    left: frozenset[str] = frozenset()
    widths: Mapping[str, int] = field(default_factory=dict)
    wrap: frozenset[str] = frozenset()
    fold: frozenset[str] = frozenset()
    names: frozenset[str] = frozenset()
    drop: tuple[str, ...] = ()
    csv_headers: Mapping[str, str] = field(default_factory=dict)
    id_column: tuple[str, str] | None = None
    ids: tuple[str, ...] = ()


@dataclass(frozen=True, slots=True)
class Section:
    before: tuple[Line, ...] = ()
    table: Table | None = None
    after: tuple[Line, ...] = ()


@dataclass(frozen=True, slots=True)
class View:
    """One command's output. `main` is the table csv and markdown write (default: the first section's table);
    `document`, where set, is a whole text that the markdown format writes as it is. `people`, where set, builds the
    sections when a format for people first needs them (JSON never does: a compare of every GPU skips its grid)."""

    command: str
    machine: Machine | None = None
    results: tuple[Mapping[str, Any], ...] = ()
    extra: Mapping[str, Any] = field(default_factory=dict)
    sections: tuple[Section, ...] = ()
    notes: tuple[str, ...] = ()
    main: Table | None = None
    document: str | None = None
    people: Callable[[], tuple[Section, ...]] | None = None

    def shown_sections(self) -> tuple[Section, ...]:
        """The sections for people: `sections`, or what `people` builds."""
        return self.people() if self.people is not None else self.sections

    def main_table(self) -> Table:
        found = self.main or next((s.table for s in self.shown_sections() if s.table is not None), None)
        return found if found is not None else Table(headers=(), rows=())


def table(headers: list[str] | tuple[str, ...], rows: list[list[str]] | tuple[tuple[str, ...], ...], *,
          title: str | None = None, left: frozenset[str] = frozenset(), widths: Mapping[str, int] | None = None,
          wrap: frozenset[str] = frozenset(), fold: frozenset[str] = frozenset(), names: frozenset[str] = frozenset(),
          drop: tuple[str, ...] | list[str] = (), csv_headers: Mapping[str, str] | None = None,
          id_column: tuple[str, str] | None = None, ids: tuple[str, ...] | list[str] = ()) -> Table:
    """A Table from lists (the row builders' shape); `drop` names not among the headers are left out."""
    return Table(tuple(headers), tuple(tuple(row) for row in rows), title=title, left=left, widths=dict(widths or {}),
                 wrap=wrap, fold=fold, names=names, drop=tuple(h for h in drop if h in headers),
                 csv_headers=dict(csv_headers or {}), id_column=id_column, ids=tuple(ids))


def notes_lines(notes: tuple[str, ...] | list[str]) -> tuple[Line, ...]:
    """Each distinct note once, dim, in order."""
    return tuple(Line(f"note: {note}", dim=True) for note in dict.fromkeys(notes))
