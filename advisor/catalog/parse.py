"""Turn validated YAML mappings into specs. Pure: takes parsed YAML, returns specs.

Model entries are read by advisor.models.catalog_entry (the one model reader); this module keeps the rest.
"""

from __future__ import annotations

import re
from typing import Any

from advisor.models.catalog_entry import SCORE_KEYS, entry_id, gguf_file
from advisor.models.fields import Fields
from advisor.specs import GgufFile, GpuSpec, MemorySpec, Quality, QuantLoss, Score
from advisor.specs.measured import BuildStep, Measurement
from advisor.units import GIB

__all__ = ["parse_gguf_row", "parse_gpu", "parse_measurement", "parse_memory", "parse_quality_row",
           "parse_quant_loss_row", "parse_score_row"]

GPU_KEYS = frozenset({
    "id", "name", "vendor", "kind", "device_class", "architecture", "compute_capability", "memory_gib",
    "memory_options_gib", "memory_type", "bus_width_bits", "memory_data_rate_gbps", "bandwidth_gbps", "fp16_tflops",
    "tflops_basis", "int8_tops", "tdp_w", "launch", "launch_price_usd", "aliases", "source", "note"})


MAX_MEMORY_GIB = 65_536.0  # 64 TiB: more than any machine holds


def parse_gguf_row(raw: object, where: str) -> tuple[str, GgufFile]:
    """A row of gguf_sizes.yaml: (model id, published file size)."""
    f = Fields(raw, where)
    model_id = f.req_text("model")
    f.data = {k: v for k, v in f.data.items() if k != "model"}
    return model_id, gguf_file(f.data, f"{where} › {model_id}")


def parse_score_row(raw: object, where: str) -> tuple[str, Score]:
    """A row of scores.yaml: (model id, score)."""
    f = Fields(raw, where)
    model_id = f.req_text("model")
    f.where = f"{where} › {model_id}"
    benchmark = f.choice("benchmark", SCORE_KEYS)
    value = f.number("value", maximum=100.0)
    assert value is not None
    score = Score(benchmark, value, f.source())
    f.text("note", required=False)
    f.done()
    return model_id, score


def parse_quality_row(raw: object, where: str) -> tuple[str, Quality]:
    """A `quality:` row of quality.yaml: (model id, its index value with source and quote)."""
    f = Fields(raw, where)
    model_id = f.req_text("model")
    f.where = f"{where} › {model_id}"
    quality = Quality(f.req_text("index"), f.number("value", maximum=100.0) or 0.0, f.source())
    for key in ("date", "quote", "note"):
        _text_or_number(f, key)
    f.req_text("quote")
    f.done()
    return model_id, quality


def parse_quant_loss_row(raw: object, where: str) -> QuantLoss | None:
    """A `quant_loss:` row of quality.yaml; the ranking uses the mean-KLD rows measured against FP16 (None for the
    others, which are validated and kept for people: FP16 against BF16, MLX perplexities)."""
    f = Fields(raw, where)
    quant = f.req_text("quant")
    f.where = f"{where} › {quant}"
    imatrix = _text_or_number(f, "imatrix")
    metric, reference = f.req_text("metric"), f.req_text("reference")
    value = f.number("value") or 0.0
    source = f.source()
    for key in ("delta_ppl", "ppl", "size_gib", "reference_value"):
        f.number(key, required=False)
    for key in ("model", "date", "note"):
        _text_or_number(f, key)
    f.req_text("quote")
    f.done()
    if metric != "mean_kld" or reference != "FP16":
        return None
    return QuantLoss(quant, imatrix not in (None, "none"), value, source)


def parse_gpu(raw: object, where: str) -> GpuSpec:
    f = Fields(raw, where)
    gpu_id = entry_id(f)
    f.where = f"{where} › {gpu_id}"
    f.only(GPU_KEYS)
    kind = f.req_text("kind")
    if kind not in ("discrete", "unified"):
        f.fail("kind", "must be 'discrete' or 'unified'", f.where)
    memory = f.number("memory_gib", minimum=0.5, maximum=MAX_MEMORY_GIB)
    options = _memory_options(f)
    spec = GpuSpec(
        id=gpu_id, name=f.req_text("name"), vendor=f.req_text("vendor"), kind=kind,  # type: ignore[arg-type]
        device_class=f.req_text("device_class"), memory_bytes=round((memory or 0) * GIB),
        bandwidth_gbps=f.number("bandwidth_gbps", required=False, minimum=1.0, maximum=100_000.0),
        fp16_tflops=f.number("fp16_tflops", required=False, minimum=0.01, maximum=20000.0), source=f.source(),
        aliases=f.strings("aliases"), memory_options_bytes=options,
        int8_tops=f.number("int8_tops", required=False, minimum=0.01, maximum=80000.0),
        bus_width_bits=f.integer("bus_width_bits", required=False, minimum=8),
        memory_data_rate_gbps=f.number("memory_data_rate_gbps", required=False, minimum=0.1),
        launch_price_usd=f.number("launch_price_usd", required=False, minimum=1.0),
        compute_capability=_text_or_number(f, "compute_capability"),
        architecture=f.text("architecture", required=False),
    )
    _gpu_extras(f)
    f.done()
    return spec


def parse_memory(raw: object, where: str) -> MemorySpec:
    f = Fields(raw, where)
    memory_id = entry_id(f)
    f.where = f"{where} › {memory_id}"
    spec = MemorySpec(id=memory_id, name=f.req_text("name"), type=f.req_text("type"), mt_s=f.req_int("mt_s"),
                      bus_width_bits=f.req_int("bus_width_bits"), source=f.source(), aliases=f.strings("aliases"))
    f.done()
    return spec


TEST_PATTERN = re.compile(r"^(tg|pp)\d+$")


def parse_measurement(raw: object, where: str) -> Measurement:
    f = Fields(raw, where)
    test = f.req_text("test")
    if not TEST_PATTERN.match(test):
        f.fail("test", f"tgN or ppN, got {test!r}", where)
    m = Measurement(
        device=f.req_text("device"), device_count=f.req_int("device_count"), backend=f.req_text("backend"),
        engine=f.req_text("engine"), model=f.req_text("model"), quant=f.req_text("quant"), test=test,
        depth_tokens=f.integer("depth", required=False) or 0,
        tokens_per_s=f.number("tokens_per_s", minimum=0.001) or 0.0, source=f.source(), quote=f.req_text("quote"),
        ngl=f.integer("ngl", required=False, minimum=-1), flags=_text_or_number(f, "flags"),
        cpu=f.text("cpu", required=False),
        ram_bandwidth_gbps=f.number("ram_bandwidth_gbps", required=False, minimum=0.1),
        date=_text_or_number(f, "date"), exclude=f.text("exclude", required=False),
        cpu_threads=f.integer("cpu_threads", required=False, minimum=1),
        cpu_simd_bits=f.integer("cpu_simd_bits", required=False, minimum=64))
    for key in ("build", "note"):
        _text_or_number(f, key)
    f.done()
    return m


def parse_build_step(raw: object, where: str) -> BuildStep:
    f = Fields(raw, where)
    kind = f.req_text("kind")
    if kind not in ("decode", "prefill"):
        f.fail("kind", f"decode or prefill, got {kind!r}", where)
    month = f.req_text("from")
    if not re.fullmatch(r"20\d\d-(0[1-9]|1[0-2])", month):
        f.fail("from", f"a month as YYYY-MM, got {month!r}", where)
    weights = f.text("weights", required=False) or "all"
    if weights not in ("all", "quantized", "float"):
        f.fail("weights", f"all, quantized or float, got {weights!r}", where)
    step = BuildStep(f.req_text("id"), f.req_text("backend"), f.strings("architectures"), kind, month,
                     f.req_text("what"), f.source(), weights)
    if not step.architectures:
        f.fail("architectures", "at least one GPU architecture", where)
    f.req_text("quote")
    f.text("note", required=False)
    f.done()
    return step


def _text_or_number(f: Fields, key: str) -> str | None:
    value: Any = f._get(key, (str, int, float), False)
    return None if value is None else str(value)


def _gpu_extras(f: Fields) -> None:
    """Fields kept for people and later estimators; validated, not yet used by the code."""
    for key in ("memory_type", "tflops_basis", "launch", "note"):
        f.text(key, required=False)
    f.number("int8_tops", required=False, maximum=40000.0)
    f.number("tdp_w", required=False, maximum=5000.0)



def _memory_options(f: Fields) -> tuple[int, ...]:
    """memory_options_gib: the sizes a machine is sold with, each a positive finite number of GiB."""
    out = []
    for item in f.items("memory_options_gib"):
        if isinstance(item, bool) or not isinstance(item, int | float) or not 0 < item <= MAX_MEMORY_GIB:
            f.fail("memory_options_gib", f"each size is a number of GiB between 0 and {MAX_MEMORY_GIB:g}, "
                   f"got {item!r}", f.where)
        out.append(round(float(item) * GIB))
    return tuple(out)
