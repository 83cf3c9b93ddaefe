"""Parse quantization types, file-type recipes and tunable defaults. Pure."""

from __future__ import annotations

import re
from typing import Any

from advisor.models.fields import Fields
from advisor.specs import (
    Defaults,
    QuantRecipe,
    QuantType,
    RecipeRule,
    SpeedClass,
)
from advisor.specs.measured import ErrorBand, ExpertTiles, FitSample, FittedClass, ServingPrefillFit, SpeedFit

CATEGORIES = frozenset({
    "token_embd", "output", "attn_q", "attn_k", "attn_v", "attn_output", "attn_other",
    "ffn_up", "ffn_gate", "ffn_down", "experts", "norm",
})
LAYER_RULE = re.compile(r"^(all|more_bits|middle|first_eighth|first_sixteenth|first_\d+)$")
RUNTIMES = ("llama.cpp", "mlx", "vllm")


def parse_type(raw: object, where: str) -> QuantType:
    f = Fields(raw, where)
    value = QuantType(name=f.req_text("name"), block_size=f.req_int("block_size"),
                      block_bytes=f.req_int("block_bytes"), source=f.source(),
                      fallback=f.text("fallback", required=False))
    f.done()
    return value


def parse_recipe(raw: object, where: str, types: dict[str, QuantType]) -> QuantRecipe:
    f = Fields(raw, where)
    name = f.req_text("name")
    f.where = f"{where} › {name}"
    base = f.req_text("base")
    if base not in types:
        f.fail("base", f"unknown tensor type {base!r}", f.where)
    runtime = f.choice("runtime", RUNTIMES)
    rules = tuple(_rule(item, f"{f.where} › rules[{i}]", types) for i, item in enumerate(f.items("rules")))
    recipe = QuantRecipe(name=name, base=base, rules=rules, runtime=runtime,  # type: ignore[arg-type]
                         quality_rank=f.req_int("quality_rank"), source=f.source(),
                         recommend=f.flag("recommend", default=True), scale_of=f.text("scale_of", required=False),
                         scale=f.number("scale", required=False, minimum=0.5, maximum=2.0) or 1.0,
                         scale_moe=f.number("scale_moe", required=False, minimum=0.5, maximum=2.0),
                         listed=f.flag("listed", default=True))
    f.text("note", required=False)
    f.done()
    return recipe


def _rule(raw: object, where: str, types: dict[str, QuantType]) -> RecipeRule:
    f = Fields(raw, where)
    rule = RecipeRule(category=f.req_text("category"), type=f.req_text("type"),
                      layers=f.text("layers", required=False) or "all")
    if rule.category not in CATEGORIES:
        f.fail("category", f"unknown tensor category {rule.category!r}", where)
    if rule.type not in types:
        f.fail("type", f"unknown tensor type {rule.type!r}", where)
    if not LAYER_RULE.match(rule.layers):
        f.fail("layers", f"unknown layer rule {rule.layers!r}", where)
    f.done()
    return rule


def parse_defaults(raw: object, where: str) -> Defaults:
    top = Fields(raw, where)
    classes = top.mapping("speed_classes", required=True)
    assert classes is not None
    values: dict[str, Any] = {}
    sources: dict[str, str] = {}
    for section in ("memory", "speed", "serving"):
        block = top.mapping(section, required=True)
        assert block is not None
        for key in list(block.data):
            item = block.mapping(key, required=True)
            assert item is not None
            values[key] = item._get("value", (int, float, dict), True)
            sources[key] = item.source()
            item.text("note", required=False)
            item.done()
        block.done()
    speed = {name: _speed_class(classes.mapping(name, required=True)) for name in list(classes.data)}
    classes.done()
    top.done()
    try:
        return Defaults(**values, speed_classes=speed, sources=sources)
    except TypeError as err:
        Fields.fail("memory", f"unexpected or missing constant ({err})", where)


def _speed_class(f: Fields | None) -> SpeedClass:
    assert f is not None
    value = SpeedClass(stream_efficiency=f.number("stream_efficiency", maximum=1.0) or 0.0,
                       per_layer_s=f.number("per_layer_s", maximum=0.01) or 0.0,
                       prefill_efficiency=f.number("prefill_efficiency", required=False, maximum=10.0),
                       source=f.source())
    f.text("note", required=False)
    f.done()
    return value


def parse_speed_fit(raw: object, where: str) -> SpeedFit:
    """catalog/speed_fit.yaml, written by scripts/fit_speed.py."""
    f = Fields(raw, where)
    decode_f, prefill_f = f.mapping("decode", required=True), f.mapping("prefill", required=True)
    assert decode_f is not None and prefill_f is not None
    decode = {}
    for key in list(decode_f.data):
        c = decode_f.mapping(key, required=True)
        assert c is not None
        decode[key] = FittedClass(c.number("stream_efficiency", maximum=1.0) or 0.0,
                                  c.number("per_layer_s", maximum=0.01) or 0.0, c.req_int("rows"), c.req_int("devices"),
                                  c.text("period", required=False) or "")
        c.done()
    prefill = {key: prefill_f.number(key, maximum=10.0) or 0.0 for key in list(prefill_f.data)}
    fit = SpeedFit(decode=decode, prefill=prefill, moe_expert_layer_cost=f.number("moe_expert_layer_cost") or 0.0,
                   moe_prefill_factor=f.number("moe_prefill_factor") or 1.0,
                   decode_bands=_bands(f.mapping("decode_error", required=True)),
                   prefill_bands=_bands(f.mapping("prefill_error", required=True)),
                   rows=f.req_int("rows"), devices=f.req_int("devices"),
                   moe_expert_layer_cost_by_backend=_factors(f.mapping("moe_expert_layer_cost_by_backend"), 0.0),
                   moe_prefill_factor_by_backend=_factors(f.mapping("moe_prefill_factor_by_backend")),
                   cpu_decode_gflops_per_core=f.number("cpu_decode_gflops_per_core", required=False,
                                                       maximum=10_000.0),
                   serving_prefill=_serving_prefill(f.mapping("serving_prefill")),
                   attention_prefill_ratio_by_backend=_factors(f.mapping("attention_prefill_ratio_by_backend")),
                   moe_prefill_tiles=_tiles(f.mapping("moe_prefill_tiles")),
                   prefill_pooled_by_backend=_factors(f.mapping("prefill_pooled_by_backend")),
                   prefill_samples=_samples(f.mapping("prefill_samples")),
                   weight_prefill_ratio=_factors(f.mapping("weight_prefill_ratio")),
                   prefill_cache_queries=f.number("prefill_cache_queries", required=False, maximum=100_000.0))
    decode_f.done()
    prefill_f.done()
    f.done()
    return fit


def _serving_prefill(f: Fields | None) -> ServingPrefillFit | None:
    if f is None:
        return None
    out = ServingPrefillFit(efficiency=f.number("efficiency", maximum=1.0) or 0.0,
                            per_layer_s=f.number("per_layer_s", minimum=0.0, maximum=0.1) or 0.0,
                            moe_layer_s=f.number("moe_layer_s", required=False, minimum=0.0, maximum=0.1) or 0.0,
                            rows=f.req_int("rows"), devices=f.req_int("devices"),
                            request_s=f.number("request_s", required=False, minimum=0.0, maximum=1.0) or 0.0,
                            sequence_step_s=f.number("sequence_step_s", required=False, minimum=0.0,
                                                     maximum=0.01) or 0.0,
                            throughput_rows=f.integer("throughput_rows", required=False) or 0)
    f.done()
    return out


def _factors(f: Fields | None, minimum: float = 0.001) -> dict[str, float]:
    """A per-backend (or per-key) number, as written: a ratio is at least `minimum`; a cost may be 0 (a backend whose
    routed experts add nothing to a layer's fixed time), which must stay 0, not fall back to anything."""
    if f is None:
        return {}
    out = {}
    for key in list(f.data):
        value = f.number(key, minimum=minimum, maximum=20.0)
        assert value is not None  # required: a missing number has failed
        out[key] = value
    f.done()
    return out


def _tiles(f: Fields | None) -> ExpertTiles | None:
    if f is None:
        return None
    tiles = ExpertTiles(f.number("tokens", minimum=1.0, maximum=100_000.0) or 1.0, f.strings("backends"))
    f.done()
    return tiles


def _samples(f: Fields | None) -> dict[str, FitSample]:
    if f is None:
        return {}
    out = {}
    for key in list(f.data):
        s = f.mapping(key, required=True)
        assert s is not None
        out[key] = FitSample(s.req_int("rows"), s.req_int("devices"), s.text("period", required=False) or "")
        s.done()
    f.done()
    return out


def _bands(f: Fields | None) -> dict[str, ErrorBand]:
    assert f is not None
    out = {}
    for key in list(f.data):
        b = f.mapping(key, required=True)
        assert b is not None
        out[key] = ErrorBand(b.number("low", minimum=-1.0) or 0.0, b.number("high", minimum=-1.0) or 0.0,
                             b.req_int("n"), b.req_int("devices"), b.number("tail", minimum=0.001, maximum=0.5) or 0.1,
                             key)
        b.done()
    f.done()
    return out
