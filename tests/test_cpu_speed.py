"""CPU speed: the vector width from the probe, a compute figure from cores x SIMD width, CPU prefill estimated and
validated on the published CPU runs (issue 14, issue 11's CPU point)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.estimate.estimator import Request
from advisor.estimate.machine import Machine, hypothetical, resolve
from advisor.estimate.speed import cpu_tflops
from advisor.hardware.host import simd_bits
from advisor.specs.facts import Catalog
from advisor.speed import cases as cal
from advisor.speed.validate import Validation, summarize, validate
from advisor.units import GIB
from tests.core import estimate

INTEL_AVX512 = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nflags\t\t: fpu sse2 avx avx2 avx512f avx512bw\n"
ZEN4 = "vendor_id\t: AuthenticAMD\ncpu family\t: 25\nflags\t\t: fpu sse2 avx avx2 avx512f avx512_vnni\n"
ZEN5 = "vendor_id\t: AuthenticAMD\ncpu family\t: 26\nflags\t\t: fpu sse2 avx avx2 avx512f\n"
HASWELL = "vendor_id\t: GenuineIntel\ncpu family\t: 6\nflags\t\t: fpu sse2 avx avx2 fma\n"
PI5 = "processor\t: 0\nFeatures\t: fp asimd evtstrm aes pmull sha1 sha2 crc32 atomics fphp asimdhp cpuid asimdrdm\n"


@pytest.mark.parametrize(("cpuinfo", "machine", "bits"), [
    (INTEL_AVX512, "x86_64", 512), (ZEN4, "x86_64", 256), (ZEN5, "x86_64", 512), (HASWELL, "x86_64", 256),
    (PI5, "aarch64", 128), (None, "arm64", 128), ("flags\t: fpu sse2\n", "x86_64", None), (None, None, None)])
def test_vector_width_from_cpuinfo(cpuinfo: str | None, machine: str | None, bits: int | None) -> None:
    # Zen 4 reports AVX-512 but runs it on 256-bit units; a Mac has no /proc/cpuinfo, its arm64 has NEON
    assert simd_bits(cpuinfo, machine) == bits


def _cpu_machine(catalog: Catalog, cores: int | None, simd: int | None) -> Machine:
    hw = hypothetical(None, catalog, gpu="none", ram_bytes=64 * GIB)
    return resolve(replace(hw, cpu_physical_cores=cores, cpu_simd_bits=simd), catalog, ram_bandwidth=(80.0, "given"))


def test_cpu_prefill_follows_cores_and_vector_width(catalog: Catalog) -> None:
    model, recipe = catalog.model("llama-3.1-8b"), catalog.recipe("Q4_K_M")

    def speeds(cores: int | None, simd: int | None) -> tuple[float | None, float | None]:
        e = estimate(model, recipe, _cpu_machine(catalog, cores, simd), catalog, Request(4096))
        assert e.placement.kind == "cpu"
        return e.speed.prefill_tokens_per_s, e.speed.decode_tokens_per_s

    four, eight, eight_wide = speeds(4, 256), speeds(8, 256), speeds(8, 512)
    assert four[0] and eight[0] and eight_wide[0]
    assert eight[0] == pytest.approx(2 * four[0]) and eight_wide[0] == pytest.approx(2 * eight[0])
    assert four[1] == eight[1]  # decode streams RAM: the bandwidth sets it, not the cores
    assert speeds(None, 256)[0] is None  # core count unknown: no prefill, not a guess
    # the width is assumed (AVX2, catalog/defaults.yaml) when the probe could not tell, and the basis says so
    assert speeds(8, None)[0] == pytest.approx(eight[0])
    assert "assumed" in _cpu_machine(catalog, 8, None).cpu_basis
    assert "assumed" not in _cpu_machine(catalog, 8, 512).cpu_basis


def test_cpu_decode_is_bound_by_its_cores_until_the_ram_is(catalog: Catalog) -> None:
    # few threads: each one's dequantize-and-multiply rate bounds decode (published sweeps, catalog/measurements/
    # round5-cpu-threads.yaml); many: the RAM does, whatever the core count
    model, recipe = catalog.model("llama-3.1-8b"), catalog.recipe("Q4_K_M")

    def decode(cores: int | None) -> float:
        e = estimate(model, recipe, _cpu_machine(catalog, cores, 256), catalog, Request(4096))
        assert e.placement.kind == "cpu" and e.speed.decode_tokens_per_s
        return e.speed.decode_tokens_per_s

    one, two, sixteen, many = decode(1), decode(2), decode(16), decode(64)
    assert two == pytest.approx(2 * one, rel=0.01)  # core-bound: twice the threads, about twice the speed
    assert one < two < sixteen == many  # RAM-bound from some core count on
    assert decode(None) == many  # core count unknown: the RAM bound alone, never a guessed core count
    assert catalog.speed_fit and catalog.speed_fit.cpu_decode_gflops_per_core


def test_offloaded_runs_still_have_no_prefill(catalog: Catalog, make_machine) -> None:
    machine = make_machine("RTX 4090", ram_gib=128)
    machine = resolve(replace(machine.hardware, cpu_physical_cores=16, cpu_simd_bits=512), catalog)
    e = estimate(catalog.model("llama-3.3-70b"), catalog.recipe("Q4_K_M"), machine, catalog, Request(8192))
    assert e.placement.kind == "gpu+cpu" and e.speed.prefill_tokens_per_s is None


def test_cpu_compute_figure_is_cores_times_fp32_fma_lanes() -> None:
    # 8 cores x (256 / 32) lanes x 2 FLOPs per FMA = 128 FLOPs per cycle: 0.128 TFLOPS per GHz
    assert cpu_tflops(8, 256) == pytest.approx(0.128)


@pytest.fixture(scope="module")
def validation(catalog: Catalog) -> Validation:
    return validate(catalog)


def test_cpu_prefill_runs_are_validated(catalog: Catalog, validation: Validation) -> None:
    cpu = [p for p in validation.of("prefill") if p.case.backend == "cpu"]
    assert len({p.case.group for p in cpu}) >= 4  # held out one CPU at a time, like every device
    assert summarize(cpu)["median_abs_error"] <= 0.30
    # a CPU prefill row without its thread count is left out with that reason
    row = next(m for m in catalog.measurements if m.device == "cpu" and m.kind == "prefill" and m.cpu_threads)
    case, why = cal._case(replace(row, cpu_threads=None), cal.Estimator(catalog))
    assert case is None and "thread count" in why


def test_accuracy_doc_slices_and_range_coverage(validation: Validation) -> None:
    # every held-out prediction is counted once per slice; the coverage counts the shipped ranges on them
    for attribute in ("engine", "moe", "depth", "year"):
        assert sum(s["n"] for s in validation.by("decode", attribute).values()) == len(validation.of("decode"))
    inside, n = validation.coverage("decode")["all"]
    assert n == len(validation.of("decode")) and 0.7 * n <= inside <= n
    assert validation.by("decode", "moe").keys() == {"MoE", "dense"}


def test_cpu_cores_on_the_command_line_gives_cpu_prefill(capsys: pytest.CaptureFixture[str]) -> None:
    import json

    from advisor.cli import main

    def prefill(*extra: str) -> float | None:
        with pytest.raises(SystemExit):
            main(["estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--gpu", "none", "--ram", "32GB",
                  "--ram-bandwidth", "60", "--json", *extra])
            raise SystemExit(0)
        value: float | None = json.loads(capsys.readouterr().out)["results"][0]["speed"]["prefill_tokens_per_s"]
        return value

    assert prefill() is None  # a hypothetical machine: core count unknown
    eight, four = prefill("--cpu-cores", "8"), prefill("--cpu-cores", "4")
    assert eight and four and eight == pytest.approx(2 * four, rel=0.01)
