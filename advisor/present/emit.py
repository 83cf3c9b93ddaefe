"""The one emitter: a View -> table (rich) | json (the envelope, docs/json.md) | csv | markdown on stdout.

Every string a person sees goes through `safe()` here (control characters escaped as `\\x1b`) and reaches rich as a
`Text`, never as markup; JSON keeps the raw strings (json.dumps escapes them).

Width: a table takes its natural width up to the console's width (a terminal's own width; 200 when stdout is not a
terminal). Where that is too narrow, the table's `names` columns shorten (ellipsis) down to NAME_MIN characters,
then its `drop` columns go, first to last; numbers are never cut. On a terminal lines wrap at words (commands break
between words with ` \\` continuations); into a pipe or file every line is written whole.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import TYPE_CHECKING, Final, TextIO

from advisor.present.view import Line, Table, View, notes_lines
from advisor.text import safe

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

FORMATS: Final = ("table", "json", "csv", "markdown")
GAP: Final = 2  # spaces between columns
NAME_MIN: Final = 16  # a names column shortens to this (or its header) before any column is dropped
WRAP_MIN: Final = 12  # a wrap or fold column narrows to this
PIPE_WIDTH: Final = 200  # the widest table when stdout is not a terminal

_MARKS: Final = re.compile(r"(?<=\S) ?[*~✓]+$")
_GROUPED: Final = re.compile(r"^-?\d{1,3}(?:,\d{3})+(?:\.\d+)?$")
_MISSING: Final = frozenset({"—", "?", ""})
_WORD: Final = re.compile(r"""(?:'[^']*'|"[^"]*"|\S)+""")


def emit(view: View, fmt: str, *, out: TextIO, console: Callable[[], Console]) -> None:
    """Write the view in one of FORMATS; `console` makes the rich console, only for tables."""
    WRITERS[fmt](view, out, console)


def _json(view: View, out: TextIO, _console: Callable[[], Console]) -> None:
    from advisor.present.envelope import dumps, envelope

    data = envelope(view.command, machine=view.machine, results=[dict(r) for r in view.results], **view.extra)
    out.write(dumps(data, pretty=out.isatty()) + "\n")


def _csv(view: View, out: TextIO, _console: Callable[[], Console]) -> None:
    out.write(rows_text("csv", view.main_table()))


def _markdown(view: View, out: TextIO, _console: Callable[[], Console]) -> None:
    if view.document is not None:
        out.write("\n".join(safe(line) for line in view.document.split("\n")))
        return
    out.write(rows_text("markdown", view.main_table()))


def _table(view: View, _out: TextIO, console: Callable[[], Console]) -> None:
    render(console(), view)


WRITERS: Final[dict[str, Callable[[View, TextIO, Callable[[], Console]], None]]] = {
    "table": _table, "json": _json, "csv": _csv, "markdown": _markdown}


def render(console: Console, view: View) -> None:
    """The view for people: each section's lines, table and lines, then the notes."""
    for section in view.shown_sections():
        print_lines(console, section.before)
        if section.table is not None:
            render_table(console, section.table)
        print_lines(console, section.after)
    print_lines(console, notes_lines(view.notes))


def _text(text: str, style: str = "") -> Text:
    from rich.text import Text

    return Text(safe(text), style=style)


def print_lines(console: Console, lines: tuple[Line, ...]) -> None:
    for line in lines:
        style = "dim" if line.dim else ""
        if not console.is_terminal:
            console.print(_text(line.text, style), soft_wrap=True)
        elif line.command:
            for part in command_lines(safe(line.text), console.width):
                console.print(_text(part, style), soft_wrap=True)
        else:
            console.print(_text(line.text, style), overflow="fold")


def command_lines(text: str, width: int) -> list[str]:
    """A command cut between its words (never inside a quoted word) into lines of at most `width`, each but the
    last ending in ` \\` so the whole still pastes into a shell; a word longer than the width stays whole. A trailing
    `# comment` goes on lines of its own after the command, each starting with `#` (a continued comment would run
    its next line as a command)."""
    if len(text) <= width:
        return [text]
    words = _WORD.findall(text)
    cut = words.index("#") if "#" in words else len(words)
    lines: list[str] = []
    current = ""
    for word in words[:cut]:
        candidate = f"{current} {word}" if current else word
        if current and len(candidate) + 2 > width:
            lines.append(current + " \\")
            current = "    " + word
        else:
            current = candidate
    lines.append(current)
    current = ""
    for word in words[cut + 1:]:
        candidate = f"{current} {word}" if current else f"# {word}"
        if current and len(candidate) > width:
            lines.append(current)
            current = f"# {word}"
        else:
            current = candidate
    return [*lines, current] if current else lines


def layout(spec: Table, width: int) -> dict[str, int]:
    """Each shown column's width: the natural width where it fits; else names shorten, then `drop` columns go."""
    from rich.cells import cell_len

    flexible = spec.names | spec.wrap | spec.fold
    natural: dict[str, int] = {}
    minimum: dict[str, int] = {}
    for i, header in enumerate(spec.headers):
        size = max([cell_len(header), *(cell_len(safe(row[i])) for row in spec.rows)])
        if header in flexible and header in spec.widths:
            size = min(size, max(spec.widths[header], cell_len(header)))
        natural[header] = size
        floor = NAME_MIN if header in spec.names else WRAP_MIN
        minimum[header] = min(size, max(floor, cell_len(header))) if header in flexible else size
    for gone in range(len(spec.drop) + 1):
        kept = [h for h in spec.headers if h not in spec.drop[:gone]]
        need = sum(minimum[h] for h in kept) + GAP * (len(kept) - 1)
        if need <= width:
            break
    spare = max(0, width - need)
    short = {h: natural[h] - minimum[h] for h in kept}
    if spare >= sum(short.values()):
        return {h: natural[h] for h in kept}
    widths = {h: minimum[h] + spare * short[h] // sum(short.values()) for h in kept}  # each its share
    left = width - need - sum(widths[h] - minimum[h] for h in kept)
    for header in kept:  # the rounding's remainder, first column first
        grow = min(left, natural[header] - widths[header])
        widths[header] += grow
        left -= grow
    return widths


def render_table(console: Console, spec: Table) -> None:
    from rich.table import Table as RichTable

    widths = layout(spec, console.width)
    total = sum(widths.values()) + GAP * (len(widths) - 1)
    if spec.title:
        print_lines(console, (Line(spec.title),))
    table = RichTable(box=None, pad_edge=False, show_edge=False)
    for header, width in widths.items():
        wraps = header in spec.wrap or header in spec.fold
        table.add_column(_text(header), justify="left" if header in spec.left else "right", no_wrap=not wraps,
                         width=width, overflow="fold" if header in spec.fold else "ellipsis")
    index = [spec.headers.index(h) for h in widths]
    for row in spec.rows:
        table.add_row(*(_text(row[i]) for i in index))
    console.print(table, width=max(console.width, total) if console.is_terminal else total)


def csv_cell(cell: str) -> str:
    """A cell for CSV: grouped numbers plain (1752, not 1,752), missing values empty, control characters escaped,
    the table's marks (* calibrated, ~ CPU-bound, ✓ installed: said in its legend and in the JSON) left off."""
    cell = _MARKS.sub("", cell)
    if cell in _MISSING:
        return ""
    return cell.replace(",", "") if _GROUPED.match(cell) else safe(cell)


def rows_text(fmt: str, spec: Table) -> str:
    """CSV (plain numbers, units in the headers, ids next to names) or Markdown (the cells the table shows)."""
    if fmt == "csv":
        import csv
        import io

        headers = [spec.csv_headers.get(h, h) for h in spec.headers]
        rows = [[csv_cell(c) for c in row] for row in spec.rows]
        if spec.id_column is not None and spec.id_column[0] in spec.headers:
            at = spec.headers.index(spec.id_column[0]) + 1
            headers.insert(at, spec.id_column[1])
            for row, ident in zip(rows, spec.ids, strict=True):
                row.insert(at, safe(ident))
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow(headers)
        writer.writerows(rows)
        return buffer.getvalue()

    def cells(row: tuple[str, ...]) -> str:
        return "| " + " | ".join(safe(cell).replace("|", "\\|") for cell in row) + " |"

    lines = [cells(spec.headers), "|" + "|".join("---" for _ in spec.headers) + "|"]
    return "\n".join([*lines, *(cells(row) for row in spec.rows)]) + "\n"
