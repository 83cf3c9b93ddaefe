"""The one emitter: a View -> table (rich) | json (the envelope, docs/json.md) | csv | markdown on stdout."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TextIO

from advisor.present.view import Line, Table, View, notes_lines

if TYPE_CHECKING:
    from rich.console import Console

FORMATS: Final = ("table", "json", "csv", "markdown")


def emit(view: View, fmt: str, *, out: TextIO, console: Callable[[], Console]) -> None:
    """Write the view in one of FORMATS; `console` makes the rich console, only for tables."""
    WRITERS[fmt](view, out, console)


def _json(view: View, out: TextIO, _console: Callable[[], Console]) -> None:
    from advisor.present.envelope import dumps, envelope

    data = envelope(view.command, machine=view.machine, results=[dict(r) for r in view.results], **view.extra)
    out.write(dumps(data, pretty=out.isatty()) + "\n")


def _csv(view: View, out: TextIO, _console: Callable[[], Console]) -> None:
    main = view.main_table()
    out.write(rows_text("csv", main.headers, main.rows))


def _markdown(view: View, out: TextIO, _console: Callable[[], Console]) -> None:
    if view.document is not None:
        out.write(view.document)
        return
    main = view.main_table()
    out.write(rows_text("markdown", main.headers, main.rows))


def _table(view: View, _out: TextIO, console: Callable[[], Console]) -> None:
    render(console(), view)


WRITERS: Final[dict[str, Callable[[View, TextIO, Callable[[], Console]], None]]] = {
    "table": _table, "json": _json, "csv": _csv, "markdown": _markdown}


def render(console: Console, view: View) -> None:
    """The view for people: each section's lines, table and lines, then the notes."""
    for section in view.sections:
        print_lines(console, section.before)
        if section.table is not None:
            render_table(console, section.table)
        print_lines(console, section.after)
    print_lines(console, notes_lines(view.notes))


def print_lines(console: Console, lines: tuple[Line, ...]) -> None:
    for line in lines:
        text = f"[dim]{line.text}[/dim]" if line.dim else line.text
        if line.wrap:
            console.print(text, highlight=False, soft_wrap=True)
        else:
            console.print(text, highlight=False)


def render_table(console: Console, spec: Table) -> None:
    from rich.table import Table as RichTable

    table = RichTable(title=spec.title, title_justify="left", box=None, pad_edge=False)
    for header in spec.headers:
        wraps = header in spec.wrap or header in spec.fold
        table.add_column(header, justify="left" if header in spec.left else "right", no_wrap=not wraps,
                         max_width=spec.widths.get(header), overflow="fold" if header in spec.fold else "ellipsis")
    for row in spec.rows:
        table.add_row(*row)
    console.print(table)


def rows_text(fmt: str, headers: tuple[str, ...], rows: tuple[tuple[str, ...], ...]) -> str:
    """CSV or Markdown text of a table (the same cells the rich table shows)."""
    if fmt == "csv":
        import csv
        import io

        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return buffer.getvalue()
    lines = ["| " + " | ".join(headers) + " |", "|" + "|".join("---" for _ in headers) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "\\|") for cell in row) + " |" for row in rows]
    return "\n".join(lines) + "\n"
