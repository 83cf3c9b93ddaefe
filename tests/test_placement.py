from __future__ import annotations

from advisor.estimate.placement import place
from advisor.units import GIB

ONE_GPU = (23 * GIB,)


def test_fits_on_the_gpu() -> None:
    p = place(layer_bytes=10 * GIB, gpu_overhead_bytes=GIB, cpu_overhead_bytes=GIB // 2,
              gpu_usable=ONE_GPU, unified=False, ram_usable=50 * GIB)
    assert p.kind == "gpu"
    assert p.gpu_bytes == (11 * GIB,)
    assert p.gpu_fraction == 1.0


def test_spills_to_system_ram_on_a_discrete_gpu() -> None:
    p = place(layer_bytes=40 * GIB, gpu_overhead_bytes=GIB, cpu_overhead_bytes=GIB // 2,
              gpu_usable=ONE_GPU, unified=False, ram_usable=50 * GIB)
    assert p.kind == "gpu+cpu"
    assert p.cpu_bytes == 18 * GIB + GIB // 2
    assert p.gpu_fraction == 22 / 40


def test_unified_memory_never_offloads_to_itself() -> None:
    p = place(layer_bytes=40 * GIB, gpu_overhead_bytes=0, cpu_overhead_bytes=GIB // 2,
              gpu_usable=(24 * GIB,), unified=True, ram_usable=30 * GIB)
    assert p.kind == "none"


def test_cpu_only_without_a_gpu() -> None:
    p = place(layer_bytes=10 * GIB, gpu_overhead_bytes=GIB, cpu_overhead_bytes=GIB // 2,
              gpu_usable=(), unified=False, ram_usable=50 * GIB)
    assert p.kind == "cpu"


def test_too_big_for_everything_is_none() -> None:
    p = place(layer_bytes=400 * GIB, gpu_overhead_bytes=GIB, cpu_overhead_bytes=GIB // 2,
              gpu_usable=ONE_GPU, unified=False, ram_usable=50 * GIB)
    assert p.kind == "none"
    assert p.gpu_bytes == ()


def test_two_gpus_split_in_proportion_to_memory_left_after_overhead() -> None:
    p = place(layer_bytes=30 * GIB, gpu_overhead_bytes=GIB, cpu_overhead_bytes=0,
              gpu_usable=(23 * GIB, 12 * GIB), unified=False, ram_usable=50 * GIB)
    assert p.kind == "gpu"
    assert p.gpu_bytes[0] - GIB == 2 * (p.gpu_bytes[1] - GIB)
