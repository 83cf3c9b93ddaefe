"""Read catalog/serving/*.yaml: published serving benchmarks (advisor.specs.serving), validated field by field."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from advisor.catalog.load import catalog_root
from advisor.models.fields import Fields
from advisor.specs.serving import ServingMeasurement


def load_serving_measurements(root: Path | None = None) -> tuple[ServingMeasurement, ...]:
    """Every run in <catalog>/serving/*.yaml, in file order."""
    import yaml  # lazily: only validation reads these files

    folder = (root or catalog_root()) / "serving"
    out: list[ServingMeasurement] = []
    for path in sorted(folder.glob("*.yaml")):
        top = Fields(yaml.safe_load(path.read_text(encoding="utf-8")), path.name)
        out += [parse_serving(raw, f"serving/{path.name} › runs[{i}]") for i, raw in enumerate(top.items("runs"))]
        top.done()
    return tuple(out)


def parse_serving(raw: Any, where: str) -> ServingMeasurement:
    f = Fields(raw, where)
    engine = f.req_text("engine")
    if engine not in ("llama.cpp", "vllm", "sglang"):
        f.fail("engine", f"unknown engine {engine!r}", where)
    measure = f.text("measure", required=False) or "decode"
    if measure not in ("decode", "closed-loop"):
        f.fail("measure", f"must be decode or closed-loop, got {measure!r}", where)
    run = ServingMeasurement(engine=engine, measure=measure, device=f.req_text("device"), model=f.req_text("model"),
                             quant=f.req_text("quant"), prompt_tokens=f.req_int("prompt_tokens"),
                             output_tokens=f.req_int("output_tokens"), batch=f.req_int("batch"),
                             aggregate_decode_tokens_per_s=f.number("aggregate_decode_tokens_per_s", required=False),
                             prefill_seconds=f.number("prefill_seconds", required=False), source=f.source(),
                             quote=f.req_text("quote"), gpus=f.integer("gpus", required=False, minimum=1) or 1,
                             mean_ttft_ms=f.number("mean_ttft_ms", required=False),
                             median_ttft_ms=f.number("median_ttft_ms", required=False),
                             lengths=f.text("lengths", required=False) or "fixed",
                             requests=f.integer("requests", required=False, minimum=1),
                             expert_parallel=f.integer("expert_parallel", required=False, minimum=1) or 1,
                             engine_version=f.text("engine_version", required=False),
                             note=f.text("note", required=False))
    if run.lengths not in ("fixed", "varied"):
        f.fail("lengths", f"must be fixed or varied, got {run.lengths!r}", where)
    if run.median_ttft_ms and not run.mean_ttft_ms:
        f.fail("median_ttft_ms", "is published beside a mean_ttft_ms", where)
    if run.gpus % run.expert_parallel:
        f.fail("expert_parallel", f"must divide gpus ({run.gpus}), got {run.expert_parallel}", where)
    f.done()
    return run
