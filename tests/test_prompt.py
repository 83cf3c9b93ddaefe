"""--prompt N (issue 14): prefill is the rate over an N-token prompt, attention across it included, and the time to
first token follows; the fit prices a measured ppN run at depth d exactly as the estimate prices --prompt N
--depth d."""

from __future__ import annotations

import json

import pytest

from advisor.cli import main
from advisor.engines import engine_for
from advisor.estimate.estimator import Estimator, Request
from advisor.specs.facts import Catalog
from advisor.speed.cases import cases, predict, split_mode


def test_a_measured_prompt_is_priced_as_the_fit_prices_it(catalog: Catalog, make_machine) -> None:
    est = Estimator(catalog)
    compared = 0
    for c in cases(catalog)[0]:
        gpu = catalog.gpu(c.gpu_id) if c.gpu_id else None
        if c.m.kind != "prefill" or gpu is None or \
                engine_for(catalog.recipe(c.m.quant).runtime).backend(gpu.vendor, gpu.device_class) != c.backend:
            continue
        if c.pass_tokens != min(c.m.tokens, catalog.defaults.ubatch_tokens):
            continue  # a run with its own -ub: an estimate reads a prompt at llama.cpp's default
        if c.bandwidth_gbps != gpu.bandwidth_gbps:
            continue  # an iGPU run priced at its own RAM's bandwidth (its cache reads): the machine has the catalog's
        request = Request(context_tokens=c.m.depth_tokens + c.m.tokens + 1, depth_tokens=c.m.depth_tokens,
                          prompt_tokens=c.m.tokens, split_mode=split_mode(c.m))
        e = est.estimate(catalog.model(c.m.model), catalog.recipe(c.m.quant),
                         make_machine(f"{c.m.device_count}x {c.gpu_id}", 512), request)
        if e.placement.kind != "gpu":
            continue
        predicted = predict(est.speeds, c)
        if predicted is None:  # no TFLOPS figure for the card: neither side guesses
            assert e.speed.prefill_tokens_per_s is None
            continue
        assert e.speed.prefill_tokens_per_s == pytest.approx(predicted, rel=1e-9)
        assert e.speed.time_to_first_token_s == pytest.approx(c.m.tokens / (e.speed.prefill_tokens_per_s or 1))
        compared += 1
    assert compared > 50


def test_longer_prompts_are_slower_per_token(catalog: Catalog, make_machine) -> None:
    est, machine = Estimator(catalog), make_machine("RTX 4090")
    model, recipe = catalog.model("llama-3.1-8b"), catalog.recipe("Q4_K_M")

    def speed(prompt: int | None):
        return est.estimate(model, recipe, machine, Request(context_tokens=70_000, prompt_tokens=prompt)).speed

    short, long = speed(512), speed(65_536)
    assert short.prefill_tokens_per_s and long.prefill_tokens_per_s
    assert long.prefill_tokens_per_s < 0.8 * short.prefill_tokens_per_s  # attention over 32k tokens on average
    assert (long.time_to_first_token_s or 0) > 128 * (short.time_to_first_token_s or 0)
    assert speed(None).time_to_first_token_s is None and speed(None).prompt_tokens is None


def test_cli_prompt(capsys: pytest.CaptureFixture[str]) -> None:
    args = ["estimate", "llama-3.1-8b", "--quant", "Q4_K_M", "--gpu", "RTX 4090", "--ram", "64GB"]
    with pytest.raises(SystemExit) as done:
        main([*args, "--prompt", "32k", "--json"])
        raise SystemExit(0)
    assert not done.value.code
    result = json.loads(capsys.readouterr().out)["results"][0]
    assert result["context_tokens"] >= 32768 + 1024  # the context grows to hold the prompt and a reply
    speed = result["speed"]
    assert speed["prompt_tokens"] == 32768
    assert speed["time_to_first_token_s"] == pytest.approx(32768 / speed["prefill_tokens_per_s"], rel=0.01)
    with pytest.raises(SystemExit) as done:
        main([*args, "--prompt", "9000", "--context", "8192"])
        raise SystemExit(0)
    assert done.value.code == 2 and "--prompt" in capsys.readouterr().err
