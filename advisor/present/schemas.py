"""JSON Schema building blocks for what the presenters emit with --json (docs/schema/, docs/json.md)."""

from __future__ import annotations

from typing import Any, Final

BYTES: Final[dict[str, Any]] = {"type": "integer", "minimum": 0}
NBYTES: Final[dict[str, Any]] = {"type": ["integer", "null"], "minimum": 0}
NUM: Final[dict[str, Any]] = {"type": ["number", "null"]}
INT: Final[dict[str, Any]] = {"type": "integer"}
STR: Final[dict[str, Any]] = {"type": "string"}
NSTR: Final[dict[str, Any]] = {"type": ["string", "null"]}
NULL: Final[dict[str, Any]] = {"type": "null"}
OBJECT: Final[dict[str, Any]] = {"type": "object"}
STRINGS: Final[dict[str, Any]] = {"type": "array", "items": STR}


def obj(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    return {"type": "object", "required": sorted(required), "properties": {**required, **optional}}


DEVICE: Final = obj({"name": STR, "kind": {"enum": ["discrete", "unified"]}, "memory_total_bytes": BYTES,
                     "memory_usable_bytes": BYTES, "bandwidth_gbps": NUM},
                    vendor=STR, catalog_id=NSTR, memory_free_bytes=NBYTES, fp16_tflops=NUM, backend=STR)
HARDWARE: Final = obj({"source": {"enum": ["probe", "hypothetical"]}, "devices": {"type": "array", "items": DEVICE},
                       "ram_total_bytes": NBYTES, "ram_available_bytes": NBYTES, "notes": STRINGS},
                      ram_usable_bytes=BYTES, ram_bandwidth_gbps={"type": "number"}, cpu=OBJECT)
COMPARED_MACHINE: Final = {**HARDWARE, "required": sorted([*HARDWARE["required"], "label", "ram_assumed",
                                                              "gpu_memory_total_bytes"]),
                            "properties": {**HARDWARE["properties"], "label": STR, "ram_assumed": {"type": "boolean"},
                                           "gpu_memory_total_bytes": BYTES}}
SPEED: Final = obj({"decode_tokens_per_s": NUM, "prefill_tokens_per_s": NUM, "basis": {"type": ["object", "null"]}},
                   cpu_time_share=NUM)
MEMORY: Final = obj({"weights_bytes": BYTES, "kv_cache_bytes": BYTES, "overhead_bytes": BYTES, "total_bytes": BYTES},
                    recurrent_state_bytes=BYTES)
PLACEMENT: Final[dict[str, Any]] = {"enum": ["gpu", "gpu+cpu", "cpu", "none"]}
MODEL_REF: Final = obj({"id": STR, "name": STR})
ESTIMATE: Final = obj({"model": MODEL_REF, "quant": STR, "context_tokens": {"type": "integer", "minimum": 1},
                       "placement": PLACEMENT, "memory": MEMORY, "speed": SPEED},
                      commands={"type": "object", "additionalProperties": NSTR}, notes=STRINGS)
QUALITY: Final = {"oneOf": [{"type": "null"}, obj({"index": STR, "value": {"type": "number"},
                                                   "adjusted": {"type": "number"}, "source": STR},
                                                  quant_kld=NUM)]}
RECOMMENDATION: Final = {**ESTIMATE, "properties": {
    **ESTIMATE["properties"], "quality": QUALITY, "usable": {"type": "boolean"}, "why_not_usable": NSTR,
    "installed": {"type": "array", "items": STR}}}
ERRORS: Final = {"type": "array", "items": obj({"kind": STR, "message": STR, "exit_code": INT})}
CELL: Final = obj({"machine": STR, "quant": STR, "placement": PLACEMENT, "memory": obj({"total_bytes": BYTES}),
                   "speed": obj({"decode_tokens_per_s": NUM, "prefill_tokens_per_s": NUM})})
CATALOG_MODEL: Final = obj({"id": STR, "name": STR, "family": STR, "params_total": BYTES, "source": STR,
                            "arch": OBJECT, "layout": OBJECT})
CATALOG_GPU: Final = obj({"id": STR, "name": STR, "vendor": STR, "memory_bytes": BYTES, "bandwidth_gbps": NUM,
                          "source": STR})
ERROR_SUMMARY: Final = obj({"n": INT, "median_abs_error": NUM, "p90_abs_error": NUM, "median_error": NUM})
PREDICTION: Final = obj({"device": STR, "backend": STR, "model": STR, "quant": STR, "test": STR, "depth_tokens": INT,
                         "measured_tokens_per_s": {"type": "number"}, "predicted_tokens_per_s": {"type": "number"},
                         "error": {"type": "number"}, "source": STR})
VALIDATION: Final = obj({"method": STR, "decode": ERROR_SUMMARY, "prefill": ERROR_SUMMARY, "by_backend": OBJECT,
                         "by_class": OBJECT, "by_device": OBJECT, "skipped": OBJECT, "fitted": OBJECT})
CALIBRATION_ROW: Final = obj({"model": STR, "quant": STR, "kind": {"enum": ["decode", "prefill"]},
                              "measured_tokens_per_s": {"type": "number"}, "estimated_tokens_per_s": NUM})
CALIBRATION: Final = obj({"device": STR, "decode_factor": NUM, "prefill_factor": NUM, "rows": INT, "source": STR})
LOCAL_MODEL: Final = obj({"source": STR, "name": STR, "path": STR, "size_bytes": BYTES, "model_id": NSTR})
DOCTOR: Final = obj({"python": STR, "platform": STR, "machine": STR, "versions": OBJECT, "probes": OBJECT,
                     "notes": STRINGS})

CURVE_POINT: Final = obj({"users": INT, "per_user_decode_tokens_per_s": {"type": "number"},
                          "aggregate_decode_tokens_per_s": {"type": "number"}, "ttft_s": NUM,
                          "burst_ttft_s": NUM},
                         running=INT, bound={"enum": ["memory", "compute"]})
SERVING: Final = obj({"model": MODEL_REF, "quant": STR, "command": NSTR, "notes": STRINGS,
                      "serving": obj({"engine": {"enum": ["vllm", "sglang", "llama.cpp"]},
                                      "max_concurrent_sequences": {"type": "integer", "minimum": 0},
                                      "nodes": INT, "gpus_per_node": INT, "tensor_parallel": INT,
                                      "pipeline_parallel": INT, "expert_parallel": INT,
                                      "curve": {"type": "array", "items": CURVE_POINT}},
                                     turn_batch={"type": ["integer", "null"]}, prefill_tokens_per_s=NUM,
                                     capacity=OBJECT, workload=OBJECT, verdict=OBJECT, constants=STR)})

SERVE_PLAN_OPTION: Final = {**SERVING, "required": sorted([*SERVING["required"], "hardware", "count"]),
                            "properties": {**SERVING["properties"], "hardware": STR, "count": INT, "price_usd": NUM}}


def envelope(command: str, results: dict[str, Any], hardware: Any = HARDWARE, **extra: Any) -> dict[str, Any]:
    """The schema of one command's envelope: its results' items, its hardware block and its extra keys."""
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"advisor {command} --json",
            **obj({"schema_version": {"const": 1}, "command": {"const": command}, "hardware": hardware,
                   "results": {"type": "array", "items": results}, "errors": ERRORS}, **extra)}
