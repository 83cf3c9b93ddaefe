"""Any terminal width (issue 11): run under a real pseudo-terminal (COLUMNS unset, the window size set with
TIOCSWINSZ), every line fits and every number shows whole; piped output is never hard-wrapped."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from typing import Any

import pytest

from advisor.present.emit import command_lines
from advisor.present.tables import gib
from advisor.units import GIB

pty_only = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal")


def in_terminal(columns: int, *args: str) -> str:
    """advisor's stdout as a terminal `columns` wide shows it (CR LF -> LF)."""
    import fcntl
    import struct
    import termios

    main, side = os.openpty()
    fcntl.ioctl(side, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in os.environ.items() if k not in ("COLUMNS", "LINES")}
    env.update(NO_COLOR="1", TERM="xterm")
    done = subprocess.Popen([sys.executable, "-m", "advisor", *args], stdin=side, stdout=side,
                            stderr=subprocess.PIPE, env=env, close_fds=True)
    os.close(side)
    chunks = []
    while True:
        try:
            chunk = os.read(main, 65536)
        except OSError:  # EIO: the child closed its side
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(main)
    _, err = done.communicate(timeout=120)
    assert done.returncode == 0, err
    return b"".join(chunks).decode().replace("\r\n", "\n")


def as_json(*args: str) -> dict[str, Any]:
    done = subprocess.run([sys.executable, "-m", "advisor", *args, "--json"], capture_output=True, text=True,
                          check=True, timeout=120)
    data: dict[str, Any] = json.loads(done.stdout)
    return data


def close(shown: list[str], values: list[float | None]) -> bool:
    """Shown rates match the JSON's (rounded) values: the same within the table's rounding."""
    def near(cell: str, value: float | None) -> bool:
        if value is None:
            return cell == "—"
        number = cell.rstrip("*~")  # the calibrated and CPU-bound marks
        return abs(float(number.replace(",", "")) - value) <= (0.5 if value >= 10 else 0.05) + 1e-6

    return len(shown) == len(values) and all(near(c, v) for c, v in zip(shown, values, strict=True))


def cells(out: str, first: str, header: str, count: int) -> list[str]:
    """The right-aligned column `header` of the table whose header line starts with `first`: each row's whole cell
    (the word ending where the header ends), after checking nothing touches it on either side."""
    lines = out.splitlines()
    at = next(i for i, line in enumerate(lines) if line.startswith(first) and f" {header}" in line)
    end = lines[at].index(f" {header}") + 1 + len(header)
    found = []
    for row in lines[at + 1:at + 1 + count]:
        assert len(row) <= end or row[end] == " ", row
        word = row[:end].split()[-1]
        assert row[:end].endswith(word) and "…" not in word, row
        found.append(word)
    return found


RECOMMEND = ("recommend", "--gpu", "RTX 4090", "--ram", "64GB")
ESTIMATE = ("estimate", "qwen3-30b-a3b", "--gpu", "RTX 4090", "--ram", "64GB")
COMPARE = ("compare", "RTX 4090", "M4 Max 128GB", "--ram", "64GB")


@pty_only
@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("args", [RECOMMEND, ("gpus",), ESTIMATE, COMPARE], ids=lambda a: a[0])
def test_every_line_fits_the_terminal(columns: int, args: tuple[str, ...]) -> None:
    out = in_terminal(columns, *args)
    assert out.strip()
    too_long = [line for line in out.splitlines() if len(line) > columns]
    assert not too_long, too_long


@pty_only
@pytest.mark.parametrize("columns", [80, 200])
@pytest.mark.parametrize("args", [RECOMMEND, ESTIMATE], ids=lambda a: a[0])
def test_speeds_and_memory_show_whole(columns: int, args: tuple[str, ...]) -> None:
    out = in_terminal(columns, *args)
    results = as_json(*args, *(("--limit", "15") if args[0] == "recommend" else ()))["results"]  # the table's 15
    first = "Model" if args[0] == "recommend" else "Quant"
    assert close(cells(out, first, "Decode", len(results)), [r["speed"]["decode_tokens_per_s"] for r in results])
    memory = "Memory GiB"
    assert cells(out, first, memory, len(results)) == [gib(r["memory"]["total_bytes"]) for r in results]
    header = next(line for line in out.splitlines() if line.startswith(first))
    if " Prefill" in header:
        assert close(cells(out, first, "Prefill", len(results)),
                     [r["speed"]["prefill_tokens_per_s"] for r in results])
    if columns >= 120:  # a wide terminal shows every column
        assert (" KV GiB" in header and " Prefill" in header and " Params" in header) or args[0] == "estimate"


@pty_only
def test_recommend_drops_columns_in_the_documented_order() -> None:
    header = next(line for line in in_terminal(80, *RECOMMEND).splitlines() if line.startswith("Model"))
    assert header.split() == ["Model", "Params", "Quant", "Runs", "on", "Memory", "GiB", "Decode", "Quality"]
    header = next(line for line in in_terminal(64, *RECOMMEND).splitlines() if line.startswith("Model"))
    assert "KV GiB" not in header and "Prefill" not in header and "Decode" in header


@pty_only
def test_gpus_numbers_show_whole_at_80() -> None:
    out = in_terminal(80, "gpus")
    gpus = as_json("gpus")["results"]
    assert close(cells(out, "Id", "GB/s", len(gpus)), [g["bandwidth_gbps"] for g in gpus])


@pty_only
@pytest.mark.parametrize("columns", [80, 200])
def test_compare_cells_show_whole(columns: int) -> None:
    out = in_terminal(columns, *COMPARE)
    data = as_json(*COMPARE, "--limit", "15")  # the table's 15
    shown = [float(n.replace(",", "")) for n in re.findall(r"(?:^|\s)([\d,.]+) t/s~?(?:\s|$)", out, re.M)]
    for row in data["results"]:
        for machine in row["machines"]:
            if machine["placement"] != "none":
                value = machine["speed"]["decode_tokens_per_s"]
                assert any(abs(n - value) <= 0.5 for n in shown), (row["model"]["id"], value)
    assert "…" not in "".join(line[32:] for line in out.splitlines())  # only names shorten


@pty_only
def test_width_follows_a_wide_terminal() -> None:
    out = in_terminal(200, *RECOMMEND)
    assert max(len(line) for line in out.splitlines()) > 120  # no 120 cap: the summary and legend on one line


def test_piped_output_is_not_hard_wrapped() -> None:
    done = subprocess.run([sys.executable, "-m", "advisor", *RECOMMEND], capture_output=True, text=True,
                          check=True, timeout=120)
    lines = done.stdout.splitlines()
    legend = next(line for line in lines if line.startswith("Memory: weights"))
    assert legend.endswith("--explain shows ranges and basis.")  # one line, however long
    run_it = next(line for line in lines if line.startswith("Run it: "))
    assert run_it.partition("  # ")[0].endswith("-fa on")  # one line, its comment (if any) on it
    table = [line for line in lines if line.startswith(("Model", "Seed-OSS"))]
    assert table and all(len(line) <= 200 for line in table)
    assert "KV GiB" in table[0] and "Prefill" in table[0]


def test_long_commands_break_between_words_and_still_paste() -> None:
    import shlex

    command = "llama-server -m '/my models/a b.gguf' -c 8192 -ngl 99 --n-cpu-moe 12 -fa on"
    parts = command_lines(command, 30)
    assert all(len(p) <= 30 for p in parts[:-1]) and all(p.endswith(" \\") for p in parts[:-1])
    assert shlex.split("\n".join(parts).replace("\\\n", " ")) == shlex.split(command)  # as a shell reads it
    assert command_lines(command, 200) == [command]


def test_a_long_commands_comment_goes_on_lines_of_its_own() -> None:
    """A `# comment` continued with a backslash would make the shell run its next line: it follows the command."""
    import shlex

    command = "llama-server -m <x-Q6_K.gguf> -c 8192 -ngl 99 -fa on  # a Q6_K GGUF of Org/X: no catalogued repository"
    parts = command_lines(command, 40)
    code = [p for p in parts if not p.startswith("#")]
    comment = [p for p in parts if p.startswith("#")]
    assert parts == code + comment and len(comment) >= 2 and all(len(p) <= 40 for p in comment)
    assert code[-1].endswith("-fa on") and all(p.endswith(" \\") for p in code[:-1])
    assert " ".join(p.removeprefix("# ") for p in comment) == "a Q6_K GGUF of Org/X: no catalogued repository"
    assert shlex.split("\n".join(code).replace("\\\n", " ")) == shlex.split(command.partition("  #")[0])


def test_gib_of_a_row() -> None:
    assert gib(GIB * 3 // 2) == "1.5"
