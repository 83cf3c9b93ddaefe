"""Hub repos and the network: the cache and offline use, each error as one line and a JSON envelope, and no
request (nor huggingface_hub import) from a command that names no repo."""

from __future__ import annotations

import json
import socket
from pathlib import Path
from typing import Any

import pytest

from tests.hub_repos import (
    HW,
    TINY,
    hub_fixture,  # noqa: F401 (the hub fixture)
    safetensors_repo,
)
from tests.hub_server import FakeFile, FakeHub, FakeRepo
from tests.test_cli import run, run_json


def test_a_fetched_repo_works_offline_and_with_the_hub_gone(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    hub.repos["acme/tiny-qwen3"] = safetensors_repo(TINY)
    first = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)["results"]
    seen = len(hub.requests)
    again = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)["results"]
    assert len(hub.requests) == seen + 1  # unchanged commit: one model_info call, the headers from the cache
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    offline = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)["results"]
    assert len(hub.requests) == seen + 1
    monkeypatch.delenv("HF_HUB_OFFLINE")
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    gone = run_json(capsys, "estimate", "acme/tiny-qwen3", *HW)["results"]
    weights = [[r["memory"]["weights_bytes"] for r in rows] for rows in (first, again, offline, gone)]
    assert weights[0] == weights[1] == weights[2] == weights[3]


def closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def error(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, dict[str, Any], str]:
    code, out, err = run(capsys, "estimate", *args, *HW, "--json")
    assert err.count("\n") == 1 and err.startswith("advisor: error: ")  # one line
    return code, json.loads(out)["errors"][0], err


def test_unknown_repo(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    code, e, err = error(capsys, "acme/no-such-model")
    assert (code, e["kind"], e["exit_code"]) == (2, "unknown_repo", 2) and "acme/no-such-model" in err


def test_gated_repo_needs_a_token(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                  monkeypatch: pytest.MonkeyPatch) -> None:
    repo = safetensors_repo(TINY)
    repo.gated_token = "hf_good"
    hub.repos["acme/gated"] = repo
    code, e, err = error(capsys, "acme/gated")
    assert (code, e["kind"]) == (5, "gated") and "acme/gated" in err and "HF_TOKEN" in err
    monkeypatch.setenv("HF_TOKEN", "hf_good")
    assert run_json(capsys, "estimate", "acme/gated", *HW)["results"]


def test_gated_repo_token_from_hf_home(hub: FakeHub, capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    repo = safetensors_repo(TINY)
    repo.gated_token = "hf_saved"
    hub.repos["acme/gated"] = repo
    (tmp_path / "hf").mkdir()
    (tmp_path / "hf" / "token").write_text("hf_saved\n")
    assert run_json(capsys, "estimate", "acme/gated", *HW)["results"]


def test_offline_and_not_cached(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                monkeypatch: pytest.MonkeyPatch) -> None:
    hub.repos["acme/tiny-qwen3"] = safetensors_repo(TINY)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    code, e, err = error(capsys, "acme/tiny-qwen3")
    assert (code, e["kind"]) == (5, "offline") and "acme/tiny-qwen3" in err and not hub.requests


def test_unreachable_hub(hub: FakeHub, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("HF_ENDPOINT", f"http://127.0.0.1:{closed_port()}")
    code, e, err = error(capsys, "acme/tiny-qwen3")
    assert (code, e["kind"]) == (5, "unreachable") and "acme/tiny-qwen3" in err and "HF_ENDPOINT" in err


def test_a_hub_that_does_not_answer_times_out(hub: FakeHub, capsys: pytest.CaptureFixture[str],
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    import advisor.hub.fetch

    assert advisor.hub.fetch.TIMEOUT_S <= 10
    monkeypatch.setattr(advisor.hub.fetch, "TIMEOUT_S", 0.2)  # advisor's own limit, shortened for the test
    hub.delay_s = 1.0
    code, e, err = error(capsys, "acme/tiny-qwen3")
    assert (code, e["kind"]) == (5, "timeout") and "acme/tiny-qwen3" in err


def test_commands_that_name_no_repo_make_no_request(hub: FakeHub, capsys: pytest.CaptureFixture[str]) -> None:
    run_json(capsys, "recommend", *HW)
    run_json(capsys, "estimate", "qwen3-8b", *HW)
    run_json(capsys, "compare", "RTX 4090", "RTX 3060", "--model", "qwen3-8b")
    assert hub.requests == []


def test_start_up_does_not_import_huggingface_hub() -> None:
    import subprocess
    import sys

    code = "import sys; from advisor.cli import main; import advisor.cli.run, advisor.cli.plan; " \
           "print('huggingface_hub' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip() == "False"


@pytest.mark.parametrize("name", ["Tiny-Q4_K_M.gguf", "model.safetensors"])
def test_a_header_that_is_no_header_is_one_line(hub: FakeHub, capsys: pytest.CaptureFixture[str], name: str) -> None:
    files = {name: FakeFile(b"\xff" * 64, 10**9)}
    if name.endswith(".safetensors"):
        files["config.json"] = FakeFile(json.dumps(TINY).encode(), 600)
    hub.repos["acme/broken"] = FakeRepo(files)
    code, e, err = error(capsys, "acme/broken")
    assert (code, e["kind"]) == (5, "hub") and err.startswith("advisor: error: acme/broken: ")
