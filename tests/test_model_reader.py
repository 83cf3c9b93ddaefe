"""One model reader: every catalog model, written as a config.json and read back, sizes the same; GGUF headers and
config.json files go through the same builder, and impossible shapes are errors that name the field."""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

import pytest

from advisor.errors import UsageError
from advisor.estimate.kv import estimate_kv
from advisor.estimate.weights import estimate_weights
from advisor.models.hf_config import config_name, model_from_config
from advisor.specs import ModelSpec
from advisor.specs.facts import Catalog
from advisor.units import GIB
from tests.core import kv_args
from tests.model_configs import config_json

QUANTS = ("Q4_K_M", "Q8_0")
CONTEXTS = (8192, 131072)


def _read_back(model: ModelSpec, tmp_path: Path) -> ModelSpec:
    path = tmp_path / model.id / "config.json"
    path.parent.mkdir(parents=True)
    path.write_text(json.dumps(config_json(model)))
    data = json.loads(path.read_text())
    return model_from_config(data, str(path), name=config_name(data, path), params_total=model.params_total)


def test_every_catalog_model_reads_back_from_its_config_json(catalog: Catalog, tmp_path: Path) -> None:
    for model in catalog.models:
        spec = _read_back(model, tmp_path)
        assert spec.layout == model.layout or _same_counts(spec, model), model.id
        for quant in QUANTS:
            args = (catalog.recipes[quant], catalog.types, catalog.recipes)
            assert estimate_weights(spec, *args) == estimate_weights(model, *args), (model.id, quant)
        for tokens in CONTEXTS:
            cache = catalog.types["F16"]
            read, known = (estimate_kv(m, cache, context_tokens=tokens, **kv_args(catalog)) for m in (spec, model))
            assert read == known, (model.id, tokens)


def _same_counts(a: ModelSpec, b: ModelSpec) -> bool:
    x, y = a.layout, b.layout
    return (x.full_attention_layers, x.sliding_layers, x.chunked_layers, x.linear_layers, x.mamba_layers) == \
        (y.full_attention_layers, y.sliding_layers, y.chunked_layers, y.linear_layers, y.mamba_layers)


def test_a_qwen35_27b_config_counts_its_linear_attention_layers(catalog: Catalog, tmp_path: Path) -> None:
    """48 Gated DeltaNet + 16 full-attention layers: 16 x 4 KV heads x 256 x K,V x 2 bytes x 32k = 2 GiB, not 8."""
    spec = _read_back(catalog.model("qwen3.5-27b"), tmp_path)
    assert (spec.layout.linear_layers, spec.layout.full_attention_layers) == (48, 16)
    kv = estimate_kv(spec, catalog.types["F16"], context_tokens=32768, **kv_args(catalog))
    assert kv.kv_cache_bytes == 2 * GIB


def _base(**extra: Any) -> dict[str, Any]:
    return {"model_type": "llama", "num_hidden_layers": 4, "hidden_size": 256, "num_attention_heads": 8,
            "num_key_value_heads": 2, "intermediate_size": 512, "vocab_size": 1000} | extra


@pytest.mark.parametrize(("extra", "key"), [
    ({"layer_types": ["full_attention"] * 5}, "layer_types"),
    ({"layer_types": ["full_attention"] * 3}, "layer_types"),
    ({"layer_types": ["full_attention"] * 3 + ["dilated"]}, "layer_types"),
    ({"num_experts": 8, "num_experts_per_tok": 2, "first_k_dense_replace": 9}, "first_k_dense_replace"),
    ({"num_experts": 8, "num_experts_per_tok": 9}, "num_experts_per_tok"),
    ({"num_hidden_layers": 100_000}, "num_hidden_layers"),
    ({"num_hidden_layers": 0}, "num_hidden_layers"),
    ({"hidden_size": 10**9}, "hidden_size"),
    ({"num_attention_heads": -8}, "num_attention_heads"),
    ({"num_experts": 10**7, "num_experts_per_tok": 2}, "num_experts"),
    ({"max_position_embeddings": 10**9}, "max_position_embeddings"),
    ({"hidden_size": math.inf}, "hidden_size"),
    ({"vocab_size": math.nan}, "vocab_size"),
    ({"head_dim": 64.5}, "head_dim"),
    ({"layer_types": ["sliding_attention"] * 4}, "sliding_window"),
])
def test_impossible_shapes_name_the_field(extra: dict[str, Any], key: str) -> None:
    with pytest.raises(UsageError) as err:
        model_from_config(_base(**extra), "dir/config.json")
    assert err.value.message.startswith(f"dir/config.json: {key}: "), err.value.message


def test_nested_text_config_fields_are_named_with_their_path() -> None:
    with pytest.raises(UsageError) as err:
        model_from_config({"text_config": _base(num_hidden_layers=5000)}, "c.json")
    assert "c.json: text_config.num_hidden_layers: must be between 1 and 1,000" in err.value.message


def test_config_models_are_named_after_the_model(tmp_path: Path) -> None:
    folder = tmp_path / "My-Model-7B"
    (folder / "sub").mkdir(parents=True)
    path = folder / "sub" / ".." / "config.json"
    assert config_name(_base(_name_or_path="org/Model-7B"), path) == "org/Model-7B"
    assert config_name(_base(_name_or_path="/data/models/Local-3B/"), path) == "Local-3B"
    assert config_name(_base(), path) == "My-Model-7B"
    assert config_name(_base(architectures=["LlamaForCausalLM"]), Path("/config.json")) == "LlamaForCausalLM"


def test_estimate_config_in_a_parent_folder_is_not_named_dots(capsys: pytest.CaptureFixture[str], tmp_path: Path,
                                                              monkeypatch: pytest.MonkeyPatch) -> None:
    from tests.test_cli import run_json

    folder = tmp_path / "Tiny-Llama"
    (folder / "work").mkdir(parents=True)
    (folder / "config.json").write_text(json.dumps(_base()))
    monkeypatch.chdir(folder / "work")
    hardware = ("--gpu", "RTX 4090", "--ram", "64GB")
    (r, *_) = run_json(capsys, "estimate", "--config", "../config.json", *hardware)["results"]
    assert r["model"]["name"] == "Tiny-Llama"


@pytest.mark.parametrize(("extra", "full", "other"), [
    ({"sliding_window": 512, "sliding_window_pattern": 2}, 2, ("sliding_layers", 2)),
    ({"model_type": "gemma2", "sliding_window": 512}, 2, ("sliding_layers", 2)),
    ({"full_attention_interval": 4, "linear_num_key_heads": 4, "linear_num_value_heads": 8,
      "linear_key_head_dim": 32, "linear_value_head_dim": 32, "linear_conv_kernel_dim": 4}, 1, ("linear_layers", 3)),
    ({"attention_chunk_size": 1024}, 1, ("chunked_layers", 3)),
    ({"hybrid_override_pattern": "M*ME", "mamba_num_heads": 8, "mamba_head_dim": 64, "ssm_state_size": 128,
      "n_groups": 1, "conv_kernel": 4}, 1, ("mamba_layers", 2)),
    ({"layer_types": ["mamba", "attention", "mamba", "mamba"], "mamba_n_heads": 8, "mamba_d_head": "auto",
      "mamba_d_state": 128}, 1, ("mamba_layers", 3)),
])
def test_layer_patterns(extra: dict[str, Any], full: int, other: tuple[str, int]) -> None:
    spec = model_from_config(_base(**extra), "config.json")
    assert spec.layout.full_attention_layers == full
    assert getattr(spec.layout, other[0]) == other[1]


def test_a_gguf_goes_through_the_same_builder(tmp_path: Path) -> None:
    """Sliding layers follow llama.cpp's pattern; the name is general.name; impossible counts name the key."""
    import gguf
    import numpy as np

    from advisor.models.gguf import gguf_name, model_from_gguf
    from advisor.models.gguf_read import GgufError, read_gguf
    from tests.test_gguf import write_model

    path = tmp_path / "gemma-00001-of-00001.gguf"
    write_model(path, arch="gemma3", layers=12, window=1024, experts=4)
    spec, weights, _ = model_from_gguf(read_gguf(path))
    assert (spec.layout.full_attention_layers, spec.layout.sliding_layers) == (2, 10)
    assert spec.moe is not None and spec.moe.moe_layers == 12 and spec.name == "tiny-gemma3"
    assert weights.weights_bytes == sum(t.n_bytes for t in read_gguf(path).tensors)
    assert gguf_name(Path("Qwen3-8B-UD-Q4_K_XL-00001-of-00003.gguf")) == "Qwen3-8B"
    assert gguf_name(Path("llama-3.1-8b-instruct.Q8_0.gguf")) == "llama-3.1-8b-instruct"

    bad = tmp_path / "bad.gguf"
    w = gguf.GGUFWriter(str(bad), "llama")
    w.add_block_count(5000)
    w.add_embedding_length(256)
    w.add_head_count(8)
    w.add_tensor("token_embd.weight", np.zeros((4, 256), dtype=np.float16))
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()
    with pytest.raises(GgufError) as err:
        model_from_gguf(read_gguf(bad))
    assert f"{bad}: llama.block_count: must be between 1 and 1,000" in err.value.message
