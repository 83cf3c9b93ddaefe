"""A prompt token's attention reads the cache it attends to: the prefill's cache term (estimate.attention)."""

from __future__ import annotations

from dataclasses import replace

import pytest

from advisor.estimate.constants import SpeedTable
from advisor.specs.facts import Catalog
from advisor.speed.cases import cases, predict
from advisor.speed.fit import fit
from tests.test_cli import run_json


def _prefill(capsys: pytest.CaptureFixture[str], *args: str) -> float:
    data = run_json(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--gpu", "Ryzen AI Max+ 395", *args)
    rate = data["results"][0]["speed"]["prefill_tokens_per_s"]
    assert isinstance(rate, float)
    return rate


def test_a_quantized_cache_reads_a_long_context_faster(capsys: pytest.CaptureFixture[str]) -> None:
    # the same attention FLOPs over half the cache bytes (q8_0 against f16): at 32k of context on a 256 GB/s
    # integrated GPU the prompt is faster; at depth 0 there is next to no cache to read, and the two agree
    deep_f16 = _prefill(capsys, "--depth", "32768", "--kv-cache", "f16")
    deep_q8 = _prefill(capsys, "--depth", "32768", "--kv-cache", "q8_0")
    assert deep_q8 > deep_f16 * 1.02
    shallow_f16 = _prefill(capsys, "--kv-cache", "f16")
    shallow_q8 = _prefill(capsys, "--kv-cache", "q8_0")
    assert shallow_q8 == pytest.approx(shallow_f16, rel=0.003)


def test_more_bandwidth_leaves_a_long_context_less_behind(capsys: pytest.CaptureFixture[str]) -> None:
    # the cache is read at the memory's bandwidth: a 4090 (1,008 GB/s) loses a smaller share of its prompt rate to
    # 32k of context than a Ryzen AI Max+ 395 (256 GB/s) does to the cache reads alone
    def share_kept(gpu: str) -> float:
        rates = [run_json(capsys, "estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--gpu", gpu, "--depth", depth)
                 ["results"][0]["speed"]["prefill_tokens_per_s"] for depth in ("0", "32768")]
        return float(rates[1] / rates[0])

    assert share_kept("RTX 4090") > share_kept("Ryzen AI Max+ 395")


@pytest.mark.parametrize("queries", [32.0, 64.0])
def test_the_fit_finds_the_cache_term_its_runs_hold(catalog: Catalog, queries: float) -> None:
    # every prefill run replaced by what the shipped constants predict with the term at `queries`: the fit picks
    # that term back out of its candidates (the efficiencies it reads off each run net of its cache reads). A term
    # four times weaker (256) moves the runs at depth by about as much as pooling each family toward its backend
    # does, and a neighbour of it can win: the grid resolves the term where it matters, not to an octave everywhere
    shipped = catalog.speed_fit
    assert shipped is not None
    truth = SpeedTable(replace(shipped, prefill_cache_queries=queries), catalog.defaults)
    rows, _ = cases(catalog)
    runs = [c for c in rows if c.m.kind == "prefill" and c.tflops and c.tensor_parallel == 1]
    synthetic = [replace(c, m=replace(c.m, tokens_per_s=predict(truth, c))) for c in runs]
    assert all(c.m.tokens_per_s for c in synthetic)
    assert fit(synthetic, catalog.defaults).prefill_cache_queries == queries


def test_the_serving_engines_prefill_has_no_cache_term(catalog: Catalog) -> None:
    # vLLM's and SGLang's prefill is fitted on times to first token without the term, so it prices none
    shipped = catalog.speed_fit
    assert shipped is not None and shipped.prefill_cache_queries
    table = SpeedTable(shipped, catalog.defaults)
    assert table.constants("cuda", "consumer", "ada-lovelace").prefill_cache_queries == shipped.prefill_cache_queries
    assert table.constants("vllm", "datacenter").prefill_cache_queries is None
