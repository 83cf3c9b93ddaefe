"""Local GGUF files, read with the gguf package: exact tensor bytes, layouts, split files, and bad input."""

from __future__ import annotations

import struct
from pathlib import Path

import gguf
import numpy as np
import pytest

from advisor.specs.facts import Catalog
from tests.test_cli import run, run_json

HW = ["--gpu", "RTX 4090", "--ram", "64GB"]


def write_model(path: Path, *, arch: str = "llama", layers: int = 4, window: int | None = None,
                experts: int = 0, q8: bool = False) -> int:
    """A tiny GGUF (`q8`: its layers' matrices in Q8_0, else F16); returns the bytes of its tensor data."""
    w = gguf.GGUFWriter(str(path), arch)
    w.add_name(f"tiny-{arch}")
    w.add_block_count(layers)
    w.add_embedding_length(256)
    w.add_feed_forward_length(512)
    w.add_head_count(8)
    w.add_head_count_kv(2)
    w.add_context_length(32768)
    w.add_file_type(gguf.LlamaFileType.MOSTLY_Q8_0 if q8 else gguf.LlamaFileType.MOSTLY_F16)
    w.add_token_list([f"t{i}".encode() for i in range(1000)])
    if window:
        w.add_sliding_window(window)
    if experts:
        w.add_expert_count(experts)
        w.add_expert_used_count(2)
    total = 0

    def tensor(name: str, shape: tuple[int, ...]) -> None:
        nonlocal total
        if q8 and name.startswith("blk."):
            packed = gguf.quants.quantize(np.zeros(shape, dtype=np.float32), gguf.GGMLQuantizationType.Q8_0)
            w.add_tensor(name, packed, raw_dtype=gguf.GGMLQuantizationType.Q8_0)
            total += packed.nbytes
            return
        w.add_tensor(name, np.zeros(shape, dtype=np.float16))
        total += int(np.prod(shape)) * 2

    tensor("token_embd.weight", (1000, 256))
    for i in range(layers):
        for name, shape in (("attn_q", (256, 256)), ("attn_k", (64, 256)), ("attn_v", (64, 256)),
                            ("attn_output", (256, 256))):
            tensor(f"blk.{i}.{name}.weight", shape)
        if experts:
            for name in ("ffn_gate_exps", "ffn_up_exps"):
                tensor(f"blk.{i}.{name}.weight", (experts, 128, 256))
            tensor(f"blk.{i}.ffn_down_exps.weight", (experts, 256, 128))
        else:
            for name, shape in (("ffn_gate", (512, 256)), ("ffn_up", (512, 256)), ("ffn_down", (256, 512))):
                tensor(f"blk.{i}.{name}.weight", shape)
    tensor("output.weight", (1000, 256))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    return total


def test_a_gguf_is_estimated_from_its_exact_tensor_bytes(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "tiny-F16.gguf"
    tensor_bytes = write_model(path)
    (r,) = run_json(capsys, "estimate", str(path), *HW)["results"]
    assert r["memory"]["weights_bytes"] == tensor_bytes
    assert r["quant"] == "F16" and r["placement"] == "gpu"
    # 4 layers x 2 KV heads x 32 head_dim x K and V x 2 bytes per token, 8192 tokens
    assert r["memory"]["kv_cache_bytes"] == 4 * 2 * 32 * 2 * 2 * 8192
    assert f"-m {path}" in r["commands"]["llama.cpp"]


def test_a_gguf_prefills_as_its_own_weights_do(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                               catalog: Catalog, make_machine) -> None:
    # F16 matrices take other prefill kernels than block-quantized ones (the weight-kind ratio, an ablation row since
    # round 12, docs/accuracy.md): a file's kind is its own type's, not the F16 a stand-in recipe once carried for
    # every file
    from advisor.estimate.estimator import Estimator, Request
    from advisor.estimate.weights import weight_kind
    from advisor.plan.resolve import gguf_estimate

    f16, q8 = tmp_path / "tiny-F16.gguf", tmp_path / "tiny-Q8_0.gguf"
    write_model(f16)
    q8_bytes = write_model(q8, q8=True)
    est, mac = Estimator(catalog), make_machine("M4 Max 128GB")

    def kind(path: Path) -> str:
        _, e, _ = gguf_estimate(est, path, mac, Request(context_tokens=4096))
        return weight_kind(e.recipe, catalog.types)

    assert (kind(f16), kind(q8)) == ("float", "quant")
    (r,) = run_json(capsys, "estimate", str(q8), *HW)["results"]
    assert r["quant"] == "Q8_0" and r["memory"]["weights_bytes"] == q8_bytes


def test_gemma3_sliding_layers_follow_llama_cpp_pattern(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "gemma.gguf"
    write_model(path, arch="gemma3", layers=12, window=1024)
    (r,) = run_json(capsys, "estimate", str(path), "--context", "32768", *HW)["results"]
    per_layer = 2 * 32 * 2 * 2
    assert r["memory"]["kv_cache_bytes"] == 2 * per_layer * 32768 + 10 * per_layer * 1536


def test_moe_gguf_reads_only_active_experts(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    path = tmp_path / "moe.gguf"
    write_model(path, arch="qwen3moe", experts=8)
    (r,) = run_json(capsys, "estimate", str(path), *HW)["results"]
    assert r["model"]["moe"] is True
    assert r["model"]["params_active"] < r["model"]["params_total"]


def test_split_gguf_parts_are_added(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    first, second = tmp_path / "big-00001-of-00002.gguf", tmp_path / "big-00002-of-00002.gguf"
    a, b = write_model(first), write_model(second)
    (r,) = run_json(capsys, "estimate", str(first), *HW)["results"]
    assert r["memory"]["weights_bytes"] == a + b
    second.unlink()
    code, _, err = run(capsys, "estimate", str(first), *HW)
    assert code == 2 and "missing" in err


def test_a_config_json_is_estimated_without_network(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    import json

    config = tmp_path / "config.json"
    config.write_text(json.dumps({"model_type": "llama", "num_hidden_layers": 32, "hidden_size": 4096,
                                  "intermediate_size": 14336, "num_attention_heads": 32, "num_key_value_heads": 8,
                                  "vocab_size": 128256, "max_position_embeddings": 131072}))
    results = run_json(capsys, "estimate", "--config", str(config), "--quant", "Q4_K_M", *HW)["results"]
    assert results[0]["memory"]["kv_cache_bytes"] == 131072 * 8192
    assert results[0]["memory"]["weights_bytes"] == pytest.approx(4.91e9, rel=0.01)


def mutations(good: bytes) -> list[tuple[str, bytes]]:
    huge = struct.pack("<Q", 2**62)
    cases = [("empty", b""), ("text", b"hello world\n" * 10), ("magic only", b"GGUF"), ("truncated", good[:200]),
             ("bad version", good[:4] + struct.pack("<I", 99) + good[8:]),
             ("absurd tensor count", good[:8] + huge + good[16:]),
             ("absurd kv count", good[:16] + huge + good[24:])]
    # a key string length claiming 2^62 bytes: the first metadata key's length field sits at offset 24
    cases.append(("absurd string length", good[:24] + huge + good[32:]))
    rng = np.random.default_rng(7)
    for i in range(24):
        data = bytearray(good[:4096])
        for position in rng.integers(4, len(data), size=8):
            data[int(position)] = int(rng.integers(0, 256))
        cases.append((f"random bytes {i}", bytes(data)))
    return cases


def test_bad_files_give_one_clear_error(capsys: pytest.CaptureFixture[str], tmp_path: Path) -> None:
    good_path = tmp_path / "good.gguf"
    write_model(good_path)
    good = good_path.read_bytes()
    for label, data in mutations(good):
        path = tmp_path / "bad.gguf"
        path.write_bytes(data)
        code, _, err = run(capsys, "estimate", str(path), *HW)
        assert "Traceback" not in err, label
        # a random mutation may leave a readable file; anything else is one line and exit 2
        assert code in (0, 2), label
        if code == 2:
            assert err.count("\n") == 1 and str(path) in err, label


def fake_home(tmp_path: Path) -> Path:
    import json

    home = tmp_path / "home"
    manifest = home / ".ollama/models/manifests/registry.ollama.ai/library/gpt-oss/20b"
    manifest.parent.mkdir(parents=True)
    manifest.write_text(json.dumps({"layers": [
        {"mediaType": "application/vnd.ollama.image.model", "digest": "sha256:abc", "size": 13_000_000_000},
        {"mediaType": "application/vnd.ollama.image.template", "digest": "sha256:def", "size": 10}]}))
    lms = home / ".lmstudio/models/bartowski/Meta-Llama-3.1-8B-Instruct-GGUF"
    lms.mkdir(parents=True)
    write_model(lms / "Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf")
    cache = home / ".cache/llama.cpp"
    cache.mkdir(parents=True)
    write_model(cache / "my-own-experiment-Q8_0.gguf")
    return home


def test_local_finds_ollama_lm_studio_and_llama_cpp_models(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                            monkeypatch: pytest.MonkeyPatch) -> None:
    home = fake_home(tmp_path)
    monkeypatch.setenv("HOME", str(home))
    for var in ("OLLAMA_MODELS", "HF_HOME", "LLAMA_CACHE"):
        monkeypatch.delenv(var, raising=False)
    found = {r["name"]: r for r in run_json(capsys, "local")["results"]}
    assert found["gpt-oss:20b"]["model_id"] == "gpt-oss-20b" and found["gpt-oss:20b"]["source"] == "ollama"
    assert found["Meta-Llama-3.1-8B-Instruct-Q4_K_M.gguf"]["model_id"] == "llama-3.1-8b"
    assert found["my-own-experiment-Q8_0.gguf"]["model_id"] is None
    data = run_json(capsys, "recommend", "--installed", *HW)  # the Ollama blob is missing: not estimated
    assert {r["model"]["id"] for r in data["results"]} == {"llama-3.1-8b", "my-own-experiment"}
    assert all(r["installed"] for r in data["results"])
