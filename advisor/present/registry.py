"""The command registry: every command, in --help order, with the JSON Schema of its --json output.

scripts/gen_schemas.py writes docs/schema/ from it, scripts/gen_cli_docs.py documents the commands typer
registers, and tests fail when the two lists differ.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Final

from advisor.present import schemas as s


@dataclass(frozen=True, slots=True)
class Command:
    """One command: its name, the schema of its envelope, and the format it prints without --json/--format."""

    name: str
    schema: dict[str, Any]
    default_format: str = "table"


def _model_schema(command: str = "model") -> dict[str, Any]:
    models = s.envelope("models", s.CATALOG_MODEL, hardware=s.NULL)
    return {**models, "title": f"advisor {command} --json", "properties": {**models["properties"],
                                                                            "command": {"const": command}}}


REGISTRY: Final[tuple[Command, ...]] = (  # the order of --help
    Command("hardware", s.envelope("hardware", {})),
    Command("recommend", s.envelope("recommend", s.RECOMMENDATION,
                                    ranking=s.obj({"use": s.NSTR, "benchmarks": {"type": "array"}}))),
    Command("estimate", s.envelope("estimate", s.ESTIMATE)),
    Command("models", s.envelope("models", s.CATALOG_MODEL, hardware=s.NULL)),
    Command("gpus", s.envelope("gpus", s.CATALOG_GPU, hardware=s.NULL)),
    Command("model", _model_schema()),
    Command("validate", s.envelope("validate", s.PREDICTION, hardware=s.NULL, summary=s.VALIDATION)),
    Command("local", s.envelope("local", s.LOCAL_MODEL, hardware=s.NULL)),
    Command("doctor", s.envelope("doctor", s.DOCTOR, hardware=s.NULL), default_format="json"),
    Command("compare", s.envelope("compare", s.obj({"model": s.MODEL_REF, "machines": {"type": "array",
                                                                                        "items": s.CELL}}),
                                  hardware=s.NULL, machines={"type": "array", "items": s.COMPARED_MACHINE},
                                  summary=s.STRINGS, min_tokens_per_s={"type": "number"})),
    Command("plan", s.envelope("plan", {"anyOf": [
        {**s.ESTIMATE, "required": sorted([*s.ESTIMATE["required"], "hardware", "count", "ram_bytes", "commands"]),
         "properties": {**s.ESTIMATE["properties"], "ram_bytes": s.NBYTES, "price_usd": s.NUM, "hardware": s.STR,
                        "count": s.INT}},
        s.SERVE_PLAN_OPTION]},  # plan --users: advisor serve's result per deployment
                               hardware=s.NULL, min_memory_bytes=s.NBYTES, model=s.MODEL_REF,
                               min_tokens_per_s=s.NUM, offload_min_tokens_per_s={"type": "number"},
                               total={"type": "integer", "minimum": 0}, max_price_usd=s.NUM, vendor=s.NSTR,
                               users=s.INT, engine=s.STR, network_gbps={"type": "number"})),
    Command("calibrate", s.envelope("calibrate", s.CALIBRATION_ROW, hardware=s.NULL, calibration=s.CALIBRATION,
                                    skipped=s.STRINGS)),
    Command("serve", s.envelope("serve", s.SERVING)),
    Command("add", _model_schema("add")),
)
BY_NAME: Final[dict[str, Command]] = {c.name: c for c in REGISTRY}
