"""advisor add's writer: every catalog model, written as a user catalog entry and read back by the loader's own
entry parser, sizes the same (weights and KV), so an added Hub model is the model that was read."""

from __future__ import annotations

from advisor.catalog.user import entry_id, model_entry
from advisor.estimate.kv import estimate_kv
from advisor.estimate.weights import estimate_weights
from advisor.models.catalog_entry import parse_model
from advisor.specs.facts import Catalog
from tests.core import kv_args


def test_every_catalog_model_reads_back_from_its_user_entry(catalog: Catalog) -> None:
    for model in catalog.models:
        entry = model_entry(model, "x-" + model.id, "acme/repo", params_source="https://huggingface.co/acme/repo",
                            gguf_files=[], note="round trip")
        spec = parse_model(entry, "user.yaml")
        assert (spec.params_total, spec.params_active, spec.arch, spec.moe) == \
            (model.params_total, model.params_active, model.arch, model.moe), model.id
        for quant in ("Q4_K_M", "Q8_0"):
            args = (catalog.recipes[quant], catalog.types, catalog.recipes)
            assert estimate_weights(spec, *args) == estimate_weights(model, *args), (model.id, quant)
        for tokens in (8192, 131072):
            read, known = (estimate_kv(m, catalog.types["F16"], context_tokens=tokens, **kv_args(catalog))
                           for m in (spec, model))
            assert read == known, (model.id, tokens)


def test_an_entry_id_takes_the_owner_when_the_name_is_taken(catalog: Catalog) -> None:
    assert entry_id("acme/My_Model-7B", catalog) == "my-model-7b"
    assert entry_id("acme/Qwen3-8B", catalog) == "acme-qwen3-8b"  # qwen3-8b is a catalog model
