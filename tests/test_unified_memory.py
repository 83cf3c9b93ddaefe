"""Unified memory (issue 11): an OS reserve on every unified machine, and GPU + RAM usable never above the pool."""

from __future__ import annotations

import pytest

from advisor.catalog.load import load_catalog
from advisor.estimate.estimator import Estimator
from advisor.estimate.machine import Machine, hypothetical, resolve
from advisor.estimate.placement import place
from advisor.plan.recommend import Request
from advisor.specs import Device, GpuSpec, Hardware
from advisor.specs.facts import Catalog
from advisor.units import GIB


@pytest.fixture(scope="module")
def catalog() -> Catalog:
    return load_catalog()


def unified_machines(catalog: Catalog) -> list[tuple[GpuSpec, int]]:
    return [(g, m) for g in catalog.gpus if g.kind == "unified" for m in (g.memory_options_bytes or (g.memory_bytes,))]


def named(catalog: Catalog, spec: GpuSpec, memory: int) -> Machine:
    return resolve(hypothetical(None, catalog, gpu=f"{spec.id} {memory // GIB}GB", ram_bytes=None), catalog)


def test_the_catalog_has_unified_machines_of_every_kind(catalog: Catalog) -> None:
    vendors = {g.vendor for g, _ in unified_machines(catalog)}
    assert {"apple", "nvidia", "amd"} <= vendors


def test_every_unified_machine_keeps_an_os_reserve_and_never_counts_memory_twice(catalog: Catalog) -> None:
    failures = []
    for spec, memory in unified_machines(catalog):
        m = named(catalog, spec, memory)
        (device,) = m.devices
        total = m.hardware.ram_total_bytes
        basis = device.usable_basis
        if total != memory or device.memory_usable_bytes + m.ram_usable_bytes > memory \
                or device.memory_usable_bytes >= memory or not ("OS reserve" in basis or "stay with macOS" in basis):
            failures.append((spec.id, memory // GIB, device.memory_usable_bytes / GIB, m.ram_usable_bytes / GIB, basis))
    assert not failures, failures


def test_linux_unified_machines_leave_the_os_its_share(catalog: Catalog) -> None:
    nano = named(catalog, catalog.gpu("jetson-orin-nano-super"), 8 * GIB)
    assert nano.gpu_usable_bytes < 5 * GIB  # was 7.0 GiB: the whole 8 GiB less a 1 GiB GPU margin
    for name in ("dgx-spark", "ryzen-ai-max-395", "jetson-agx-thor"):
        m = named(catalog, catalog.gpu(name), 128 * GIB)
        assert 100 * GIB < m.gpu_usable_bytes < 120 * GIB, name  # was 127 GiB
        assert m.gpu_usable_bytes + m.ram_usable_bytes <= 128 * GIB


def test_a_model_bigger_than_the_usable_memory_is_not_on_the_gpu(catalog: Catalog) -> None:
    for spec, memory in unified_machines(catalog):
        m = named(catalog, spec, memory)
        free = m.gpu_usable_bytes
        placed = place(layer_bytes=free + 1, gpu_overhead_bytes=0, cpu_overhead_bytes=0,
                       gpu_usable=tuple(d.memory_usable_bytes for d in m.devices), unified=m.unified,
                       ram_usable=m.ram_usable_bytes)
        assert placed.kind != "gpu", spec.id


def test_jetson_orin_nano_no_longer_fits_a_model_of_its_whole_memory(catalog: Catalog) -> None:
    nano = named(catalog, catalog.gpu("jetson-orin-nano-super"), 8 * GIB)
    model, recipe = catalog.model("llama-3.1-8b"), catalog.recipe("Q4_K_M")
    estimate = Estimator(catalog).estimate(model, recipe, nano, Request(context_tokens=8192, context_pinned=True))
    assert estimate.memory.total_bytes > nano.gpu_usable_bytes
    assert estimate.placement.kind != "gpu"


def test_a_probed_apu_keeps_its_gtt_pool_and_the_cpu_gets_only_the_rest(catalog: Catalog) -> None:
    apu = Device(name="AMD Strix Halo", vendor="amd", kind="unified", memory_total_bytes=64 * GIB)
    hw = Hardware(source="probe", devices=(apu,), ram_total_bytes=127 * GIB, ram_available_bytes=120 * GIB)
    m = resolve(hw, catalog)
    assert m.gpu_usable_bytes == 63 * GIB and "VRAM + GTT" in m.devices[0].usable_basis
    assert m.gpu_usable_bytes + m.ram_usable_bytes <= 127 * GIB


def test_a_set_apple_wired_limit_is_kept_and_the_rest_goes_to_the_cpu(catalog: Catalog) -> None:
    mac = Device(name="Apple M4 Max", vendor="apple", kind="unified", memory_total_bytes=128 * GIB,
                 wired_limit_bytes=120 * GIB, gpu_cores=40)
    m = resolve(Hardware(source="probe", devices=(mac,), ram_total_bytes=128 * GIB, ram_available_bytes=None),
                catalog)
    assert m.gpu_usable_bytes == 120 * GIB and m.ram_usable_bytes == 0
    assert "iogpu.wired_limit_mb" in m.devices[0].usable_basis


def test_discrete_machines_are_unchanged(catalog: Catalog) -> None:
    m = resolve(hypothetical(None, catalog, gpu="4090", ram_bytes=64 * GIB), catalog)
    assert m.gpu_usable_bytes == 23 * GIB
    assert m.ram_usable_bytes == int(64 * GIB * 0.9) - int(2.5 * GIB)
    assert not any("one pool" in n for n in m.notes)
