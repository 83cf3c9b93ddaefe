"""Properties that must hold for every model, file type and machine (hypothesis)."""

from __future__ import annotations

import json

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from advisor.catalog.load import load_catalog
from advisor.estimate.estimator import Request
from advisor.estimate.machine import Machine, hypothetical, resolve
from advisor.present.envelope import dumps, envelope, estimate_dict
from advisor.specs.facts import Catalog
from advisor.units import GIB
from tests.core import estimate

CATALOG: Catalog = load_catalog()
MODELS = st.sampled_from(CATALOG.models)
STANDARD = ["Q2_K", "Q3_K_M", "Q4_K_M", "Q5_K_M", "Q6_K", "Q8_0", "F16"]
QUANTS = st.sampled_from(STANDARD)
SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])


def custom(memory_gib: int, bandwidth: float, ram_gib: int = 64, count: int = 1) -> Machine:
    spec = "+".join([f"{memory_gib}GB@{bandwidth:g}"] * count)
    return resolve(hypothetical(None, CATALOG, gpu=spec, ram_bytes=ram_gib * GIB), CATALOG)


def recipe_for(model, name):  # type: ignore[no-untyped-def]
    return CATALOG.recipe(model.native_quant or name)


@SETTINGS
@given(MODELS, QUANTS, st.integers(256, 131072), st.integers(256, 131072))
def test_memory_never_falls_as_context_grows(model, quant, a, b) -> None:  # type: ignore[no-untyped-def]
    machine = custom(24, 1000)
    small, large = sorted((a, b))
    e_small = estimate(model, recipe_for(model, quant), machine, CATALOG, Request(small))
    e_large = estimate(model, recipe_for(model, quant), machine, CATALOG, Request(large))
    assert e_large.memory.total_bytes >= e_small.memory.total_bytes


@SETTINGS
@given(MODELS, st.integers(0, len(STANDARD) - 2), st.integers(512, 65536))
def test_memory_never_falls_as_quant_bits_grow(model, index, context) -> None:  # type: ignore[no-untyped-def]
    if model.native_quant:
        return
    machine = custom(24, 1000)
    lower = estimate(model, CATALOG.recipe(STANDARD[index]), machine, CATALOG, Request(context))
    higher = estimate(model, CATALOG.recipe(STANDARD[index + 1]), machine, CATALOG, Request(context))
    assert higher.memory.total_bytes >= lower.memory.total_bytes


@SETTINGS
@given(MODELS, QUANTS, st.floats(50, 3000), st.floats(50, 3000))
def test_speed_never_falls_as_bandwidth_grows(model, quant, a, b) -> None:  # type: ignore[no-untyped-def]
    slow, fast = sorted((a, b))
    e_slow = estimate(model, recipe_for(model, quant), custom(512, slow), CATALOG, Request(4096))
    e_fast = estimate(model, recipe_for(model, quant), custom(512, fast), CATALOG, Request(4096))
    if e_slow.speed.decode_tokens_per_s is not None:
        assert e_fast.speed.decode_tokens_per_s >= e_slow.speed.decode_tokens_per_s * (1 - 1e-9)  # type: ignore[operator]


@SETTINGS
@given(MODELS, QUANTS, st.integers(2, 192), st.integers(1, 4), st.integers(4, 512), st.integers(512, 131072))
def test_placement_never_claims_more_than_usable_memory(model, quant, vram, count, ram, context) -> None:  # type: ignore[no-untyped-def]
    machine = custom(vram, 500, ram, count)
    e = estimate(model, recipe_for(model, quant), machine, CATALOG, Request(context))
    usable = [d.memory_usable_bytes for d in machine.devices]
    if e.placement.kind in ("gpu", "gpu+cpu"):
        assert all(used <= limit for used, limit in zip(e.placement.gpu_bytes, usable, strict=True))
    if e.placement.kind == "gpu":
        assert e.memory.total_bytes <= sum(usable)
    if e.placement.kind in ("gpu+cpu", "cpu"):
        assert e.placement.cpu_bytes <= machine.ram_usable_bytes
    if e.placement.kind == "none":
        assert e.speed.decode_tokens_per_s is None


@SETTINGS
@given(MODELS, QUANTS, st.integers(1024, 65536))
def test_json_output_round_trips(model, quant, context) -> None:  # type: ignore[no-untyped-def]
    machine = custom(24, 1000)
    e = estimate(model, recipe_for(model, quant), machine, CATALOG, Request(context))
    data = envelope("estimate", machine=machine, results=[estimate_dict(e)])
    assert json.loads(dumps(data)) == data
