"""Write docs/schema/<command>.schema.json, the JSON Schema of each command's --json output.

Usage: python scripts/gen_schemas.py. tests/test_schema.py validates real outputs against these files and fails
when a file differs from what this script writes.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
BYTES = {"type": "integer", "minimum": 0}
NBYTES = {"type": ["integer", "null"], "minimum": 0}
NUM = {"type": ["number", "null"]}
STR = {"type": "string"}
NSTR = {"type": ["string", "null"]}


def obj(required: dict[str, Any], **optional: Any) -> dict[str, Any]:
    return {"type": "object", "required": sorted(required), "properties": {**required, **optional}}


DEVICE = obj({"name": STR, "kind": {"enum": ["discrete", "unified"]}, "memory_total_bytes": BYTES,
              "memory_usable_bytes": BYTES, "bandwidth_gbps": NUM},
             vendor=STR, catalog_id=NSTR, memory_free_bytes=NBYTES, fp16_tflops=NUM, backend=STR)
HARDWARE = obj({"source": {"enum": ["probe", "hypothetical"]}, "devices": {"type": "array", "items": DEVICE},
                "ram_total_bytes": NBYTES, "ram_available_bytes": NBYTES, "notes": {"type": "array", "items": STR}},
               ram_usable_bytes=BYTES, ram_bandwidth_gbps={"type": "number"}, cpu={"type": "object"})
SPEED = obj({"decode_tokens_per_s": NUM, "prefill_tokens_per_s": NUM, "basis": {"type": ["object", "null"]}})
MEMORY = obj({"weights_bytes": BYTES, "kv_cache_bytes": BYTES, "overhead_bytes": BYTES, "total_bytes": BYTES},
             recurrent_state_bytes=BYTES)
PLACEMENT = {"enum": ["gpu", "gpu+cpu", "cpu", "none"]}
MODEL_REF = obj({"id": STR, "name": STR})
ESTIMATE = obj({"model": MODEL_REF, "quant": STR, "context_tokens": {"type": "integer", "minimum": 1},
                "placement": PLACEMENT, "memory": MEMORY, "speed": SPEED},
               commands={"type": "object", "additionalProperties": NSTR}, notes={"type": "array", "items": STR})
ERRORS = {"type": "array", "items": obj({"kind": STR, "message": STR, "exit_code": {"type": "integer"}})}


def envelope(command: str, results: dict[str, Any], hardware: Any = HARDWARE, **extra: Any) -> dict[str, Any]:
    return {"$schema": "https://json-schema.org/draft/2020-12/schema", "title": f"advisor {command} --json",
            **obj({"schema_version": {"const": 1}, "command": {"const": command}, "hardware": hardware,
                   "results": {"type": "array", "items": results}, "errors": ERRORS}, **extra)}


NULL = {"type": "null"}
CELL = obj({"machine": STR, "quant": STR, "placement": PLACEMENT, "memory": obj({"total_bytes": BYTES}),
            "speed": obj({"decode_tokens_per_s": NUM, "prefill_tokens_per_s": NUM})})
SCHEMAS = {
    "hardware": envelope("hardware", {}),
    "recommend": envelope("recommend", ESTIMATE, ranking=obj({"use": NSTR, "benchmarks": {"type": "array"}})),
    "estimate": envelope("estimate", ESTIMATE),
    "compare": envelope("compare", obj({"model": MODEL_REF, "machines": {"type": "array", "items": CELL}}),
                        hardware=NULL, machines={"type": "array", "items": HARDWARE},
                        summary={"type": "array", "items": STR}),
    "plan": envelope("plan", {**ESTIMATE, "required": sorted([*ESTIMATE["required"], "hardware", "count"])},
                     hardware=NULL, min_memory_bytes=NBYTES, model=MODEL_REF),
    "models": envelope("models", obj({"id": STR, "name": STR, "family": STR, "params_total": BYTES, "source": STR,
                                      "arch": {"type": "object"}, "layout": {"type": "object"}}), hardware=NULL),
    "gpus": envelope("gpus", obj({"id": STR, "name": STR, "vendor": STR, "memory_bytes": BYTES,
                                  "bandwidth_gbps": NUM, "source": STR}), hardware=NULL),
}
SCHEMAS["model"] = {**SCHEMAS["models"], "title": "advisor model --json",
                    "properties": {**SCHEMAS["models"]["properties"], "command": {"const": "model"}}}


def render() -> dict[str, str]:
    return {name: json.dumps(schema, indent=2, sort_keys=True) + "\n" for name, schema in SCHEMAS.items()}


def main() -> None:
    folder = ROOT / "docs" / "schema"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (folder / f"{name}.schema.json").write_text(text)


if __name__ == "__main__":
    main()
