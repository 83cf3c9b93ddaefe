"""Strings from files and the catalog are shown as text (issue 15): control characters escaped, rich markup never
interpreted, JSON keeping the raw string; run commands shell-quote every path and name."""

from __future__ import annotations

import json
import shlex
from pathlib import Path

import pytest
import yaml

from advisor.present.emit import csv_cell, safe
from tests.test_cli import HYPOTHETICAL, run

EVIL = "\x1b[2J[/bold]evil"


def evil_catalog(tmp_path: Path, name: str = EVIL) -> Path:
    """A user catalog with one dense 8B model whose name and note are hostile."""
    entry = {
        "id": "evil-8b", "name": name, "family": "evil", "vendor": "[red]x\x9b31m", "hf_repo": "evil/Evil-8B",
        "aliases": ["evil/Evil-8B-GGUF"], "release": "2025-01", "license": "mit", "modalities": ["text"],
        "source": "https://example.org/evil", "note": "[bold]note\x07\x7f",
        "params": {"total": 8_000_000_000, "active": None, "source": "https://example.org/evil"},
        "arch": {"layers": 32, "hidden_size": 4096, "intermediate_size": 14336, "ffn_matrices": 3,
                 "attention_heads": 32, "kv_heads": 8, "head_dim": 128, "v_head_dim": None, "vocab_size": 128256,
                 "tied_embeddings": False, "max_context": 131072},
    }
    (tmp_path / "models").mkdir()
    (tmp_path / "models" / "evil.yaml").write_text(yaml.safe_dump({"models": [entry]}))
    return tmp_path


def test_safe_escapes_c0_del_c1_and_keeps_the_rest() -> None:
    assert safe("\x1b[2J[/bold]evil") == "\\x1b[2J[/bold]evil"
    assert safe("a\tb\nc\x7fd\x9be") == "a\\x09b\\x0ac\\x7fd\\x9be"
    assert safe("Qwen3 · 30B — ünïcode ×") == "Qwen3 · 30B — ünïcode ×"


@pytest.mark.parametrize(("cell", "plain"), [("1,752", "1752"), ("131,072", "131072"), ("12.5", "12.5"),
                                             ("—", ""), ("?", ""), ("GPU+CPU 45%", "GPU+CPU 45%"),
                                             ("1,2", "1,2"), ("\x1bx", "\\x1bx")])
def test_csv_cells(cell: str, plain: str) -> None:
    assert csv_cell(cell) == plain


COMMANDS = [["recommend", "--limit", "0", *HYPOTHETICAL], ["recommend", "--explain", "--limit", "0", *HYPOTHETICAL],
            ["recommend", "--use", "general", "--limit", "0", *HYPOTHETICAL], ["estimate", "evil-8b", *HYPOTHETICAL],
            ["estimate", "evil-8b", "--explain", *HYPOTHETICAL], ["models"],
            ["model", "evil-8b"], ["compare", "RTX 4090", "M4 Max 128GB", "--model", "evil-8b"],
            ["plan", "evil-8b"]]


@pytest.mark.parametrize("fmt", ["table", "csv", "markdown"])
@pytest.mark.parametrize("args", COMMANDS, ids=lambda a: " ".join(a[:2]))
def test_a_hostile_model_name_prints_literally(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               args: list[str], fmt: str) -> None:
    code, out, err = run(capsys, "--catalog", str(evil_catalog(tmp_path)), *args, "--format", fmt)
    assert code == 0, err
    assert "\x1b" not in out and "\x9b" not in out and "\x07" not in out
    if fmt == "table" and args[0] != "models":
        assert "\\x1b[2J[/bold]e" in out  # the whole name, or its start where names shorten


def test_json_keeps_the_raw_name(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    code, out, _ = run(capsys, "--catalog", str(evil_catalog(tmp_path)), "estimate", "evil-8b", *HYPOTHETICAL,
                       "--json")
    assert code == 0 and "\x1b" not in out  # json.dumps writes \u001b
    assert json.loads(out)["results"][0]["model"]["name"] == EVIL


@pytest.mark.parametrize("name", ["[red]x", "[/bold]", "[link=file:///etc/passwd]x[/link]", ":smile: [b"])
def test_markup_in_a_name_is_never_interpreted(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               name: str) -> None:
    code, out, err = run(capsys, "--catalog", str(evil_catalog(tmp_path, name)), "estimate", "evil-8b",
                         *HYPOTHETICAL)
    assert code == 0, err
    assert f"{name} at 8,192 tokens" in out


def test_a_gguf_path_with_spaces_and_a_semicolon_is_quoted(capsys: pytest.CaptureFixture[str],
                                                          tmp_path: Path) -> None:
    from tests.test_gguf import write_model

    folder = tmp_path / "my models; rm -rf ~"
    folder.mkdir()
    path = folder / "it's tiny-F16.gguf"
    write_model(path)
    code, out, err = run(capsys, "estimate", str(path), *HYPOTHETICAL, "--json")
    assert code == 0, err
    command = json.loads(out)["results"][0]["commands"]["llama.cpp"]
    words = shlex.split(command)
    assert words[:3] == ["llama-server", "-m", str(path)] and ";" not in words
    code, out, _ = run(capsys, "estimate", str(path), *HYPOTHETICAL)
    assert code == 0 and f"Run it: {command}" in out


def test_mlx_and_vllm_quote_their_names() -> None:
    from dataclasses import replace

    from advisor.catalog.load import load_catalog
    from advisor.engines import mlx, vllm
    from advisor.engines.run import RunSpec

    catalog = load_catalog()
    model = next(m for m in catalog.models if m.id == "llama-3.1-8b")
    model = replace(model, id="a b;c", hf_repo="org/repo $(x)", aliases=())
    mlx_recipe = catalog.recipes["MLX-4bit"]
    bf16 = catalog.recipes["BF16"]
    spec = RunSpec(model=model, recipe=mlx_recipe, context_tokens=8192, placement="gpu", gpu_bytes=(1,),
                   gpu_fraction=1.0, n_cpu_moe=0, sequences=1, kv_cache_type="F16")
    convert = mlx.command(spec)
    assert convert is not None
    first, second = convert.split(" && ")
    assert shlex.split(first)[2] == "org/repo $(x)" and shlex.split(first)[-1] == "a b;c-4bit-mlx"
    assert shlex.split(second)[-1] == "a b;c-4bit-mlx"
    served = vllm.command(replace(spec, recipe=bf16))
    assert served is not None and shlex.split(served)[2] == "org/repo $(x)"
