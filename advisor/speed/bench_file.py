"""`advisor calibrate`: a user's own llama-bench results -> per-device factors on our estimates. Pure.

llama-bench -o json (a list) or -o jsonl (one object per line) rows carry gpu_info, model_type (architecture, size
and file type), model_size (bytes), model_n_params, n_prompt, n_gen, n_depth and avg_ts. Each row is matched to the
catalog model with the nearest parameter count (within 5 %) and its file type; the device's factor is the median of
measured / estimated, separately for decode (tg) and prefill (pp). Rows run with n_gpu_layers 0 calibrate the CPU
lane instead of the GPU. A row with a value out of bounds (non-finite, avg_ts outside 1e-3..1e6 t/s, n_prompt/n_gen
outside 1..1e7, n_depth outside 0..1e8) is skipped with a reason naming the row and the field.
"""

from __future__ import annotations

import json
import math
import re
import statistics
from dataclasses import dataclass
from typing import Any

from advisor.errors import UsageError

_FTYPES = {"q4_k - medium": "Q4_K_M", "q4_k - small": "Q4_K_S", "q5_k - medium": "Q5_K_M", "q5_k - small": "Q5_K_S",
           "q3_k - medium": "Q3_K_M", "q3_k - large": "Q3_K_L", "q3_k - small": "Q3_K_S", "q2_k - medium": "Q2_K",
           "q6_k": "Q6_K", "q8_0": "Q8_0", "q4_0": "Q4_0", "f16": "F16", "bf16": "BF16", "mxfp4 moe": "MXFP4"}


@dataclass(frozen=True, slots=True)
class BenchRow:
    gpu: str
    model_type: str
    quant: str | None
    params: int
    kind: str  # decode | prefill
    tokens: int
    depth_tokens: int
    tokens_per_s: float
    ngl: int


# what a llama-bench row may hold; a row outside these is skipped with a reason naming it
AVG_TS_RANGE = (1e-3, 1e6)  # tokens per second
TOKENS_RANGE = (1, 10_000_000)  # n_prompt or n_gen of the test (the other one is 0)
DEPTH_RANGE = (0, 100_000_000)  # n_depth
LAYERS_RANGE = (0, 100_000)  # n_gpu_layers; 0 = the CPU only


class RowSkipped(ValueError):
    """A llama-bench row that cannot be used; the message says which field and why."""


def parse_bench(text: str) -> tuple[list[BenchRow], list[str]]:
    """Rows of llama-bench JSON or JSONL output, and a reason for each row skipped ("row 3 (llama 8B ...): avg_ts
    nan is not a finite number within 0.001..1e+06"); an unreadable file, or one with no usable row, is a UsageError
    naming what is wrong."""
    text = text.strip()
    try:
        data = json.loads(text) if text.startswith("[") else [json.loads(line) for line in text.splitlines() if line]
    except ValueError as err:
        msg = f"not llama-bench JSON or JSONL output ({err})"
        raise UsageError(msg) from err
    if not isinstance(data, list):
        data = [data]
    rows, skipped = [], []
    for number, item in enumerate(data, start=1):
        try:
            rows.append(_row(item))
        except RowSkipped as err:
            skipped.append(f"row {number}{_label(item)}: {err}")
    if not rows:
        why = f": {'; '.join(skipped[:5])}{' ...' if len(skipped) > 5 else ''}" if skipped else ""
        msg = f"no usable llama-bench rows (each needs gpu_info, model_type, n_prompt/n_gen and avg_ts){why}"
        raise UsageError(msg)
    return rows, skipped


def _label(item: Any) -> str:
    name = item.get("model_type") if isinstance(item, dict) else None
    return f" ({name[:60]})" if isinstance(name, str) and name.strip() else ""


def _number(item: dict[str, Any], key: str, bounds: tuple[float, float], default: float | None = None) -> float:
    """item[key] as a finite number within bounds; RowSkipped naming the field and value otherwise."""
    value = item.get(key)
    if value is None:
        value = default
    if value is None:
        msg = f"no {key}"
        raise RowSkipped(msg)
    try:
        number = float(value) if not isinstance(value, bool) else math.nan
    except (TypeError, ValueError, OverflowError):
        number = math.nan
    low, high = bounds
    if not math.isfinite(number) or not low <= number <= high:
        shown = f"{value:g}" if isinstance(value, float) else repr(value)
        msg = f"{key} {shown} is not a finite number within {low:g}..{high:g}"
        raise RowSkipped(msg)
    return number


def _row(item: Any) -> BenchRow:
    if not isinstance(item, dict):
        msg = "not a JSON object"
        raise RowSkipped(msg)
    model_type = item.get("model_type")
    if not isinstance(model_type, str) or not model_type.strip():
        msg = "no model_type"
        raise RowSkipped(msg)
    n_prompt = int(_number(item, "n_prompt", (0, TOKENS_RANGE[1]), 0))
    n_gen = int(_number(item, "n_gen", (0, TOKENS_RANGE[1]), 0))
    if (n_prompt > 0) == (n_gen > 0):
        msg = f"n_prompt {n_prompt} and n_gen {n_gen}: exactly one of them must be at least {TOKENS_RANGE[0]}"
        raise RowSkipped(msg)
    speed = _number(item, "avg_ts", AVG_TS_RANGE)
    params = int(_number(item, "model_n_params", (1, 1e14)))
    depth = int(_number(item, "n_depth", DEPTH_RANGE, 0))
    ngl = int(_number(item, "n_gpu_layers", LAYERS_RANGE, 99))
    gpu = item.get("gpu_info")
    gpu = gpu if isinstance(gpu, str) else ""
    quant = next((q for key, q in _FTYPES.items() if model_type.lower().endswith(key)), None)
    return BenchRow(gpu=gpu.split(",", maxsplit=1)[0].strip(), model_type=model_type, quant=quant, params=params,
                    kind="decode" if n_gen else "prefill", tokens=n_gen or n_prompt, depth_tokens=depth,
                    tokens_per_s=speed, ngl=ngl)


def factor(pairs: list[tuple[float, float]]) -> float | None:
    """Median of measured / estimated over (measured, estimated) pairs."""
    ratios = [measured / estimated for measured, estimated in pairs if estimated > 0]
    return statistics.median(ratios) if ratios else None


def device_label(gpu_info: str) -> str:
    return re.sub(r"\s+", " ", gpu_info).strip()
