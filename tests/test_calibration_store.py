"""The calibration store loses nothing: locked, merged, atomic writes; bad values refused by name; a broken store set
aside with one warning and never blocking a command; CPU runs calibrate the CPU lane."""

from __future__ import annotations

import errno
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from advisor.specs.measured import LocalCalibration
from advisor.speed import store
from advisor.speed.bench_file import parse_bench
from tests.test_calibrate import bench_rows
from tests.test_cli import run, run_json

ROOT = Path(__file__).resolve().parent.parent
BROKEN = re.compile(r"^advisor: warning: (.+) could not be read \((.+)\); "
                    r"set aside as (.+\.broken-\d{8}T\d{6}(-\d+)?)$")


def strict_json(text: str) -> Any:
    """json.loads that refuses NaN and Infinity, as every JSON parser but Python's does."""

    def refuse(name: str) -> None:
        raise ValueError(name)

    return json.loads(text, parse_constant=refuse)


def store_path(config: Path) -> Path:
    return config / "calibration.yaml"


def yaml_entries(path: Path) -> dict[str, dict[str, Any]]:
    import yaml

    data: dict[str, dict[str, Any]] = yaml.safe_load(path.read_text())
    return data


def entry(device: str, decode: float = 0.9) -> LocalCalibration:
    return LocalCalibration(device, decode, 1.1, 2, "bench.json")


def write_bench(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text(json.dumps(rows))
    return path


def child(code: str, config: Path) -> subprocess.Popen[str]:
    env = {**os.environ, "ADVISOR_CONFIG_DIR": str(config)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env, text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE)


# -- concurrency and crashes ---------------------------------------------------------------------------------------


def test_two_concurrent_calibrate_processes_on_different_devices_both_land(tmp_path: Path) -> None:
    """4 rounds, each two `advisor calibrate` processes on one store (all rounds at once: the test's wall time is
    the machine's, each pair still races on its own store)."""
    bench = write_bench(tmp_path / "bench.json", bench_rows(100.0, 4000.0))
    rounds: list[tuple[Path, list[subprocess.Popen[str]]]] = []
    for round_ in range(4):
        config = tmp_path / f"config{round_}"
        store.save_local_calibration(entry("rtx-5090"), "2020-01-02", store_path(config))
        env = {**os.environ, "ADVISOR_CONFIG_DIR": str(config)}
        rounds.append((config, [subprocess.Popen(
            [sys.executable, "-m", "advisor", "calibrate", str(bench), "--device", gpu, "--json"], cwd=ROOT, env=env,
            text=True, stdout=subprocess.PIPE, stderr=subprocess.PIPE) for gpu in ("RTX 4090", "RTX 3090")]))
    for round_, (config, procs) in enumerate(rounds):
        for proc in procs:
            out, err = proc.communicate(timeout=120)
            assert proc.returncode == 0, err
            assert strict_json(out)["calibration"]["device"] in ("rtx-4090", "rtx-3090")
        data = yaml_entries(store_path(config))
        assert set(data) == {"rtx-5090", "rtx-4090", "rtx-3090"}, f"round {round_}: {sorted(data)}"
        assert data["rtx-5090"]["date"] == "2020-01-02"  # the other devices keep their dates
        assert all(item["date"] for item in data.values())
        assert not list(config.glob(".calibration.yaml.*.tmp"))


@pytest.mark.parametrize("where", ["os.write", "os.replace"])
def test_a_writer_killed_mid_write_leaves_the_previous_file_intact(tmp_path: Path, where: str) -> None:
    path = store_path(tmp_path)
    store.save_local_calibration(entry("rtx-4090"), "2020-01-02", path)
    before = path.read_bytes()
    # the child writes part of its temporary file (or all of it, fsynced) and is killed before the rename
    code = f"""
import os, signal
from advisor.speed import store
from advisor.specs.measured import LocalCalibration
real = os.write
def dying(*args):
    if "{where}" == "os.write":
        real(args[0], args[1][:10])
    os.kill(os.getpid(), signal.SIGKILL)
os.{where.split('.')[1]} = dying
store.save_local_calibration(LocalCalibration("rtx-3090", 0.5, None, 1, "x" * 200 + ".json"), "2021-01-01")
"""
    proc = child(code, tmp_path)
    proc.communicate(timeout=30)
    assert proc.returncode == -signal.SIGKILL
    assert path.read_bytes() == before
    assert list(tmp_path.glob(".calibration.yaml.*.tmp"))  # its temporary file is left behind ...
    started = time.monotonic()
    store.save_local_calibration(entry("rtx-5090"), "2022-01-01", path)  # ... the lock is not
    assert time.monotonic() - started < 5
    assert not list(tmp_path.glob(".calibration.yaml.*.tmp"))  # and the next writer removes it
    assert set(store.load_local_calibration(path)) == {"rtx-4090", "rtx-5090"}


def test_a_second_writer_waits_for_the_lock(tmp_path: Path) -> None:
    path = store_path(tmp_path)
    code = """
from advisor.speed import store
from advisor.specs.measured import LocalCalibration
store.save_local_calibration(LocalCalibration("rtx-3090", 0.5, None, 1, "b.json"), "2021-01-01")
print("saved")
"""
    with store._locked(path):
        proc = child(code, tmp_path)
        time.sleep(0.5)
        assert proc.poll() is None  # blocked on the lock
    out, err = proc.communicate(timeout=30)
    assert proc.returncode == 0 and out.strip() == "saved", err


def test_without_fcntl_the_store_is_still_written_whole(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "fcntl", None)  # `import fcntl` raises ImportError, as where it is missing
    path = store_path(tmp_path)
    store.save_local_calibration(entry("rtx-4090"), "2020-01-02", path)
    store.save_local_calibration(entry("rtx-3090"), "2020-01-03", path)
    assert set(store.load_local_calibration(path)) == {"rtx-4090", "rtx-3090"}


def test_a_full_disk_leaves_the_old_file_and_gives_one_line(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    path = store_path(Path(os.environ["ADVISOR_CONFIG_DIR"]))
    store.save_local_calibration(entry("rtx-3090"), "2020-01-02", path)
    before = path.read_bytes()
    real = os.write

    def full(fd: int, data: bytes) -> int:
        if fd > 2:
            raise OSError(errno.ENOSPC, os.strerror(errno.ENOSPC))
        return real(fd, data)

    monkeypatch.setattr(os, "write", full)
    bench = write_bench(tmp_path / "bench.json", bench_rows(100.0, 4000.0))
    code, out, err = run(capsys, "calibrate", str(bench))
    assert code == 1  # docs/json.md: a store that cannot be written exits 1
    assert err.count("\n") == 1 and err.startswith("advisor: error: cannot write ")
    assert "No space left on device" in err and "previous file is unchanged" in err
    code, out, err = run(capsys, "calibrate", str(bench), "--json")
    assert code == 1 and strict_json(out)["errors"][0]["kind"] == "io"
    monkeypatch.undo()
    assert path.read_bytes() == before
    assert not list(path.parent.glob(".calibration.yaml.*.tmp"))


# -- values refused by name ----------------------------------------------------------------------------------------


BAD_ROWS = [({"avg_ts": float("nan")}, "avg_ts nan"), ({"avg_ts": float("inf")}, "avg_ts inf"),
            ({"avg_ts": 1e-300}, "avg_ts 1e-300"), ({"avg_ts": 2e6}, "avg_ts 2e+06"),
            ({"n_gen": 1e12}, "n_gen 1e+12"), ({"n_depth": 1e9}, "n_depth 1e+09"),
            ({"n_depth": -1}, "n_depth -1"), ({"n_gen": float("nan")}, "n_gen nan"),
            ({"n_gpu_layers": -5}, "n_gpu_layers -5")]


@pytest.mark.parametrize(("change", "named"), BAD_ROWS)
def test_a_bad_row_is_skipped_with_a_reason_naming_it(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                      change: dict[str, Any], named: str) -> None:
    good, decode = bench_rows(100.0, 4000.0)
    bench = tmp_path / "bench.json"
    bench.write_text(json.dumps([good, {**decode, **change}]))  # json.dumps writes NaN / Infinity as llama-bench may
    code, out, err = run(capsys, "calibrate", str(bench), "--json")
    assert code == 0, err
    data = strict_json(out)
    assert [s for s in data["skipped"] if s.startswith("row 2 (llama 8B Q4_K - Medium)") and named in s], data
    assert data["calibration"]["decode_factor"] is None  # the only decode row was refused
    # a file of bad rows only: exit 2, the message names them
    bench.write_text(json.dumps([{**decode, **change}]))
    code, _, err = run(capsys, "calibrate", str(bench))
    assert code == 2 and named in err and "row 1" in err
    assert run(capsys, "recommend", "--json")[0] == 0


def test_a_row_far_from_the_estimate_is_skipped_so_no_factor_leaves_the_range(
        capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bench = write_bench(tmp_path / "bench.json", bench_rows(decode_ts=1e5, prefill_ts=4000.0))
    data = run_json(capsys, "calibrate", str(bench))
    assert data["calibration"]["decode_factor"] is None
    assert any("outside x0.05..x20" in s and "tg128" in s for s in data["skipped"])
    bench = write_bench(tmp_path / "bench.json", bench_rows(decode_ts=1e5, prefill_ts=1e5)[1:])
    code, _, err = run(capsys, "calibrate", str(bench))
    assert code == 2 and "outside x0.05..x20" in err


def test_a_blank_results_file_name_is_refused_by_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    bench = write_bench(tmp_path / "   ", bench_rows(100.0, 4000.0))
    code, _, err = run(capsys, "calibrate", str(bench))
    assert code == 2 and "'   '" in err and "Traceback" not in err
    assert not store_path(Path(os.environ["ADVISOR_CONFIG_DIR"])).exists()
    assert run(capsys, "recommend", "--json")[0] == 0


@pytest.mark.parametrize("bad", [{"decode_factor": float("nan")}, {"decode_factor": float("inf")},
                                 {"decode_factor": 1e-300}, {"decode_factor": 1e12}, {"source": "   "},
                                 {"rows": 0}])
def test_the_saver_refuses_what_the_loader_would(tmp_path: Path, bad: dict[str, Any]) -> None:
    fields = {"device": "rtx-4090", "decode_factor": 0.9, "prefill_factor": 1.0, "rows": 2, "source": "b.json"}
    fields.update(bad)
    with pytest.raises(store.StoreInvalid, match=next(iter(bad))):
        store.save_local_calibration(LocalCalibration(**fields), "2020-01-02", store_path(tmp_path))
    assert not store_path(tmp_path).exists()


# -- a broken store never blocks a command -------------------------------------------------------------------------


BROKEN_STORES = ["{{{ not: [yaml", "- a list\n", "rtx-4090: {decode_factor: .nan, rows: 1, source: b.json}\n",
                 "rtx-4090: {decode_factor: 1.0e-300, rows: 1, source: b.json}\n",
                 "rtx-4090: {decode_factor: 0.9, rows: 1, source: '   '}\n",
                 "rtx-4090: {decode_factor: 0.9, rows: 1, source: b.json, colour: red}\n", "\xff\xfe"]


@pytest.mark.parametrize("text", BROKEN_STORES)
def test_a_broken_store_is_set_aside_and_reported_once(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                       text: str) -> None:
    path = store_path(Path(os.environ["ADVISOR_CONFIG_DIR"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(text.encode("latin-1"))
    code, out, err = run(capsys, "recommend", "--json")
    assert code == 0
    strict_json(out)
    lines = err.splitlines()
    assert len(lines) == 1, err
    found = BROKEN.match(lines[0])
    assert found and found.group(1) == str(path), lines[0]
    aside = Path(found.group(3))
    assert aside.read_bytes() == text.encode("latin-1") and not path.exists()
    assert run(capsys, "recommend", "--json")[::2] == (0, "")  # reported once
    # and calibrate repairs the store
    bench = write_bench(tmp_path / "bench.json", bench_rows(100.0, 4000.0))
    assert run_json(capsys, "calibrate", str(bench))["calibration"]["device"] == "rtx-4090"
    assert set(store.load_local_calibration(path)) == {"rtx-4090"}


def test_calibrate_sets_a_broken_store_aside_and_still_saves(capsys: pytest.CaptureFixture[str],
                                                             tmp_path: Path) -> None:
    path = store_path(Path(os.environ["ADVISOR_CONFIG_DIR"]))
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("rtx-3090: {decode_factor: .inf, rows: 1, source: b.json}\n")
    bench = write_bench(tmp_path / "bench.json", bench_rows(100.0, 4000.0))
    code, out, err = run(capsys, "calibrate", str(bench), "--json")
    assert code == 0 and strict_json(out)["calibration"]["device"] == "rtx-4090"
    assert len(err.splitlines()) == 1 and BROKEN.match(err.strip())
    assert "decode_factor" in err  # the warning says why
    assert set(store.load_local_calibration(path)) == {"rtx-4090"}


def test_the_loader_never_raises(tmp_path: Path) -> None:
    path = store_path(tmp_path)
    path.mkdir(parents=True)  # not even a file
    warnings: list[str] = []
    assert store.load_local_calibration(path, warn=warnings.append) == {}
    assert len(warnings) == 1 and BROKEN.match(warnings[0])


# -- merging, dates, idempotence, the CPU lane ---------------------------------------------------------------------


def test_each_save_merges_and_keeps_every_date(tmp_path: Path) -> None:
    path = store_path(tmp_path)
    store.save_local_calibration(entry("rtx-4090", 0.8), "2020-01-02", path)
    store.save_local_calibration(entry("rtx-3090", 0.7), "2021-03-04", path)
    store.save_local_calibration(entry("rtx-4090", 0.9), "2022-05-06", path)
    data = yaml_entries(path)
    assert data["rtx-3090"]["date"] == "2021-03-04" and data["rtx-3090"]["decode_factor"] == 0.7
    assert data["rtx-4090"]["date"] == "2022-05-06" and data["rtx-4090"]["decode_factor"] == 0.9


def test_calibrating_twice_gives_the_same_factor(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    from tests.test_calibrate import estimate_decode

    before, _ = estimate_decode(capsys)
    bench = write_bench(tmp_path / "bench.json", bench_rows(decode_ts=before * 0.7, prefill_ts=4000.0))
    first = run_json(capsys, "calibrate", str(bench))["calibration"]
    second = run_json(capsys, "calibrate", str(bench))["calibration"]
    assert first == second and first["decode_factor"] == pytest.approx(0.7, rel=0.01)
    after, _ = estimate_decode(capsys)
    assert after == pytest.approx(before * 0.7, rel=0.01)  # applied once, not compounded


def cpu_rows(decode_ts: float) -> list[dict[str, Any]]:
    return [{**row, "n_gpu_layers": 0, "avg_ts": decode_ts} for row in bench_rows(decode_ts, 1.0)[1:]]


def cpu_estimate(capsys: pytest.CaptureFixture[str]) -> dict[str, Any]:
    # this machine's CPU and RAM (its bandwidth measured once and cached), as calibrate compares against
    speed: dict[str, Any] = run_json(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--gpu",
                                     "none")["results"][0]["speed"]
    return speed


def test_cpu_rows_calibrate_the_cpu_lane_not_the_gpu(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                     monkeypatch: pytest.MonkeyPatch) -> None:
    import json

    from advisor.hardware import rambw

    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))  # this machine's RAM, "measured" at 50 GB/s
    (tmp_path / "cache").mkdir()
    rambw._cache_file(tmp_path / "cache").write_text(json.dumps({"gbps": 50.0, "date": "2026-01-01"}))
    before = cpu_estimate(capsys)["decode_tokens_per_s"]
    bench = write_bench(tmp_path / "bench.json", cpu_rows(before * 1.25))
    data = run_json(capsys, "calibrate", str(bench))
    assert data["calibration"]["device"] == "cpu"
    assert data["calibration"]["decode_factor"] == pytest.approx(1.25, rel=0.01)
    assert not store.load_local_calibration().keys() - {"cpu"}
    after = cpu_estimate(capsys)
    assert after["decode_tokens_per_s"] == pytest.approx(before * 1.25, rel=0.01)
    assert "calibrated locally for the CPU" in after["basis"]["confidence"]
    gpu = run_json(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--gpu", "RTX 4090", "--ram", "64GB")
    assert "calibrated locally" not in gpu["results"][0]["speed"]["basis"]["confidence"]


def test_a_file_with_gpu_and_cpu_rows_saves_both(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                 monkeypatch: pytest.MonkeyPatch) -> None:
    from advisor.hardware import rambw

    # this machine's RAM "measured" at 50 GB/s: a real measurement on a loaded test machine can make 8 t/s implausible
    monkeypatch.setenv("ADVISOR_CACHE_DIR", str(tmp_path / "cache"))
    (tmp_path / "cache").mkdir()
    rambw._cache_file(tmp_path / "cache").write_text(json.dumps({"gbps": 50.0, "date": "2026-01-01"}))
    bench = write_bench(tmp_path / "bench.json", bench_rows(100.0, 4000.0) + cpu_rows(8.0))
    data = run_json(capsys, "calibrate", str(bench))
    assert data["calibration"]["device"] == "rtx-4090"
    assert [e["device"] for e in data["calibration"]["entries"]] == ["rtx-4090", "cpu"]
    assert set(store.load_local_calibration()) == {"rtx-4090", "cpu"}


def test_n_gpu_layers_zero_is_the_cpu() -> None:
    rows, skipped = parse_bench(json.dumps(cpu_rows(8.0) + bench_rows(100.0, 4000.0)))
    assert [r.ngl for r in rows] == [0, 99, 99] and skipped == []
