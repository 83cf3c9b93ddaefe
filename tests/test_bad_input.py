"""A corpus of bad invocations: each exits non-zero with one clear line on stderr and no traceback.

Sockets are blocked while these run: no default command may touch the network.
"""

from __future__ import annotations

import socket
from pathlib import Path

import pytest

from tests.test_cli import run

NAMES = ["RTX 9999", "GTX 42", "", " ", "4090x2", "M9 Ultra", "H100 SXM 999GB", "M4 Max 100GB", "0x 4090",
         "17x 4090", "-1x 4090", "2x", "x4090", "4090++3090", "+", "24GB@", "@1008", "24GB@-5", "0GB@100",
         "nvidia", "\u2603 snowman", "a" * 300]
SIZES = ["lots", "-4GB", "0", "0GB", "1e999", "12 parsecs", "GB", "-", "NaN", "inf", "99999999999999TB", "4,5GB"]
MODELS = ["no-such-model", "llama", "qwen", "", "gpt-oss", "../../etc/passwd", "model\x00name", "x" * 500]
CONTEXTS = ["0", "-1", "abc", "1e9", "99999999999", "1.5", ""]
QUANTS = ["Q9_Z", "q4", "", "MXFP5", "Q4_K_M;rm -rf /"]


def corpus(tmp: Path) -> list[list[str]]:
    cases: list[list[str]] = []
    cases += [["recommend", "--gpu", n, "--ram", "64GB"] for n in NAMES]
    cases += [["compare", n, "RTX 4090"] for n in NAMES[:8]]
    cases += [["recommend", "--ram", s] for s in SIZES]
    cases += [["hardware", "--vram", s, "--bandwidth", "100"] for s in SIZES[:6]]
    cases += [["hardware", "--gpu", "4090", "--ram", "64GB", "--ram-bandwidth", b]
              for b in ("-5", "0", "ddr9", "fast", "1e9")]
    cases += [["estimate", m, "--gpu", "4090", "--ram", "64GB"] for m in MODELS]
    cases += [["recommend", "--context", c] for c in CONTEXTS]
    cases += [["estimate", "llama-3.1-8b", "--context", "1000", "--depth", d] for d in ("2000", "-5", "x")]
    cases += [["estimate", "llama-3.1-8b", "--quant", q] for q in QUANTS]
    cases += [["estimate", "gpt-oss-20b", "--quant", "Q4_K_M"]]
    cases += [["recommend", "--kv-cache", k] for k in ("f8", "q3", "")]
    cases += [["recommend", "--parallel", p] for p in ("0", "-1", "1000", "two")]
    cases += [["recommend", "--use", u] for u in ("poetry", "", "CODING!")]
    cases += [[cmd, "--format", f] for cmd in ("recommend", "models", "gpus", "hardware") for f in ("xml", "", "yaml")]
    cases += [["models", "--min-params", "lots"], ["gpus", "--min-memory", "-1GB"], ["model", "nope"], ["model"]]
    cases += [["plan", "nope"], ["plan", "llama-3.1-8b", "--quant", "Q9"], ["plan", "llama-3.1-8b", "--min-tps", "x"]]
    cases += [["calibrate", str(tmp / "missing.json")], ["calibrate"], ["calibrate", str(tmp)]]
    cases += [["estimate", "--config", str(tmp / "missing.json")], ["estimate"]]
    cases += [["estimate", str(tmp / f"bad{i}.gguf")] for i in range(4)]
    cases += [["estimate", "--config", str(tmp / "bad.json")], ["estimate", "--config", str(tmp / "array.json")]]
    cases += [["--catalog", str(tmp / "nowhere"), "models"], ["--catalog", str(tmp / "badcat"), "models"]]
    cases += [["nonsense"], ["recommend", "extra-argument"], ["--bogus"], ["recommend", "--gpu"], ["compare"]]
    cases += [["compare", "4090"], ["recommend", "--vram", "24GB"], ["recommend", "--bandwidth", "900"]]
    return cases


def prepare(tmp: Path) -> None:
    (tmp / "bad0.gguf").write_bytes(b"")
    (tmp / "bad1.gguf").write_bytes(b"GGUF\x03\x00\x00\x00" + b"\xff" * 16)
    (tmp / "bad2.gguf").write_bytes(b"not a model at all")
    (tmp / "bad3.gguf").mkdir()
    (tmp / "bad.json").write_text("{not json")
    (tmp / "array.json").write_text("[1, 2, 3]")
    (tmp / "badcat" / "models").mkdir(parents=True)
    (tmp / "badcat" / "models" / "x.yaml").write_text("models:\n  - {id: x, name: X, family: y, layers: [}\n")


@pytest.fixture(autouse=True)
def no_network(monkeypatch: pytest.MonkeyPatch) -> None:
    def refuse(*args: object, **kwargs: object) -> None:
        raise AssertionError("advisor tried to open a network connection")

    monkeypatch.setattr(socket.socket, "connect", refuse)
    monkeypatch.setattr(socket, "create_connection", refuse)


def test_the_corpus_is_large(tmp_path: Path) -> None:
    assert len(corpus(tmp_path)) >= 100


def test_every_bad_invocation_fails_cleanly(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    prepare(tmp_path)
    failures = []
    for args in corpus(tmp_path):
        code, out, err = run(capsys, *args)
        if code == 0 or "Traceback" in err + out or "internal error" in err or not err.strip():
            failures.append((args, code, err[-200:]))
    assert not failures, failures


# issue 15 / issue 11: each exits 2 with one short line, never "internal error" and never "unknown GPU" for a number
NEW_BAD = [
    ["hardware", "--gpu", "16x4090+16x3090", "--ram", "64GB"],
    ["hardware", "--gpu", "4090+" * 5000 + "4090", "--ram", "64GB"],
    ["hardware", "--gpu", "+" * 10_000, "--ram", "64GB"],
    ["hardware", "--gpu", "9" * 900 + "x 4090", "--ram", "64GB"],
    ["hardware", "--gpu", "24GB", "--ram", "64GB"],
    ["hardware", "--gpu", "24GB@1e308", "--ram", "64GB"],
    ["hardware", "--gpu", "24GB@nan", "--ram", "64GB"],
    ["hardware", "--gpu", "24GB@100001", "--ram", "64GB"],
    ["hardware", "--gpu", "24GB@-5", "--ram", "64GB"],
    ["hardware", "--gpu", "9" * 500 + "GB@100", "--ram", "64GB"],
    ["hardware", "--gpu", "4090+RTX 9999", "--ram", "64GB"],
    ["hardware", "--gpu", "M4 Max 40-core 36GB", "--ram", "64GB"],
    ["hardware", "--gpu", "4090+", "--ram", "64GB"],
    ["hardware", "--vram", "24GB", "--bandwidth", "-5"],
    ["hardware", "--vram", "24GB", "--bandwidth", "1e308"],
    ["hardware", "--vram", "24GB", "--bandwidth", "0"],
    ["hardware", "--vram", "24GB", "--bandwidth", "nan"],
    ["hardware", "--vram", "24GB", "--bandwidth", "inf"],
    ["hardware", "--vram", "9" * 5000 + "GB", "--bandwidth", "100"],
    ["hardware", "--vram", "lots", "--bandwidth", "100"],
    ["hardware", "--ram", "9" * 5000 + "GB"],
    ["recommend", "--context", "9" * 5000],
    ["recommend", "--context", "8q"],
    ["recommend", "--context", "1.5k"],
    ["recommend", "--context", "-8k"],
    ["recommend", "--context", "17M"],
    ["estimate", "llama-3.1-8b", "--context", "4k", "--depth", "8k"],
    ["estimate", "llama-3.1-8b", "--depth", "9" * 5000],
]


def test_new_bad_invocations_exit_2_with_one_short_line(capsys: pytest.CaptureFixture[str]) -> None:
    failures = []
    for args in NEW_BAD:
        code, out, err = run(capsys, *args)
        line = err.strip()
        if code != 2 or "Traceback" in err + out or "internal error" in err or not line or "\n" in line \
                or len(line) > 400 or "unknown GPU '24GB@" in line:
            failures.append(([a[:40] for a in args], code, err[-300:]))
    assert not failures, failures


def test_good_commands_run_with_the_network_blocked(capsys: pytest.CaptureFixture[str]) -> None:
    for args in (["hardware"], ["recommend", "--json"], ["models"], ["gpus"], ["validate"]):
        assert run(capsys, *args)[0] == 0, args
