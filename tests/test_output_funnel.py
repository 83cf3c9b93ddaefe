"""The one output funnel: JSON error envelopes for every spelling of JSON, Ctrl-C, closed pipes, full disks."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.test_cli import HYPOTHETICAL, run


@pytest.mark.parametrize("flags", [["--json"], ["--format", "json"], ["--format=json"], ["--format", "JSON"]])
def test_every_spelling_of_json_gets_the_error_envelope(capsys: pytest.CaptureFixture[str], flags: list[str]) -> None:
    code, out, err = run(capsys, "recommend", "--gpu", "RTX 9999", *flags)
    data = json.loads(out)
    assert code == 2 and data["errors"][0]["exit_code"] == 2 and data["command"] == "recommend"
    assert err.count("\n") == 1


def test_doctor_prints_json_by_default_so_its_errors_do_too(capsys: pytest.CaptureFixture[str]) -> None:
    code, out, _ = run(capsys, "doctor", "--bogus")
    assert code == 2 and json.loads(out)["command"] == "doctor"
    code, out, _ = run(capsys, "doctor", "--format", "table", "--bogus")
    assert code == 2 and out == ""


@pytest.mark.parametrize("command", ["validate", "calibrate", "local", "doctor"])
def test_the_commands_that_bypassed_the_funnel_take_json_and_format(capsys: pytest.CaptureFixture[str],
                                                                    command: str) -> None:
    code, _, err = run(capsys, command, "--json", "--format", "csv", "--help")
    assert code == 0 and err == ""


@pytest.mark.parametrize("fmt", ["csv", "markdown", "table"])
def test_validate_in_every_format(capsys: pytest.CaptureFixture[str], fmt: str) -> None:
    code, out, _ = run(capsys, "validate", "--format", fmt)
    assert code == 0 and "cuda:ada-lovelace" in out


@pytest.mark.parametrize("interrupt", [KeyboardInterrupt, "abort"])
def test_ctrl_c_exits_130_without_a_traceback(capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch,
                                             interrupt: type[BaseException] | str) -> None:
    import typer

    def stop(*_args: object, **_kwargs: object) -> None:
        raise typer.Abort() if interrupt == "abort" else KeyboardInterrupt()

    monkeypatch.setattr("advisor.cli.browse.load", stop)
    code, out, err = run(capsys, "models")
    assert code == 130 and "Traceback" not in err and out == ""


def test_ctrl_c_in_a_real_process_exits_130() -> None:
    import signal
    import time

    advisor = subprocess.Popen([sys.executable, "-m", "advisor", "validate", "--markdown"],
                               stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    time.sleep(1.5)  # past start-up, inside the command
    advisor.send_signal(signal.SIGINT)
    _, err = advisor.communicate(timeout=60)
    assert advisor.returncode == 130 and b"Traceback" not in err


@pytest.mark.parametrize("args", [["recommend", "--json", *HYPOTHETICAL], ["models", "--json"],
                                  ["gpus", "--format", "csv"], ["models"], ["doctor"], ["--version"]])
def test_a_reader_that_goes_away_is_no_failure(args: list[str]) -> None:
    advisor = subprocess.Popen([sys.executable, "-m", "advisor", *args], stdout=subprocess.PIPE,
                               stderr=subprocess.PIPE)
    assert advisor.stdout is not None
    advisor.stdout.read(10)
    advisor.stdout.close()
    _, err = advisor.communicate(timeout=60)
    assert advisor.returncode == 0 and err == b""


@pytest.mark.skipif(not Path("/dev/full").exists(), reason="needs /dev/full")
@pytest.mark.parametrize("args", [["recommend", "--json", *HYPOTHETICAL], ["recommend", *HYPOTHETICAL],
                                  ["models", "--format", "csv"], ["doctor"], ["--version"], ["--help"],
                                  ["recommend", "--json", "--gpu", "RTX 9999"]])
def test_stdout_that_cannot_be_written_is_one_line_and_a_nonzero_exit(args: list[str]) -> None:
    with open("/dev/full", "w") as full:
        done = subprocess.run([sys.executable, "-m", "advisor", *args], stdout=full, stderr=subprocess.PIPE,
                              timeout=60, check=False)
    assert done.returncode != 0
    assert b"Traceback" not in done.stderr and done.stderr.count(b"\n") == 1, done.stderr
