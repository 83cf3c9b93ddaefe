"""Write docs/schema/<command>.schema.json, the JSON Schema of each command's --json output.

Usage: python scripts/gen_schemas.py. The schemas come from the command registry (advisor/present/registry.py);
tests/test_schema.py validates real outputs against these files and fails when a file differs from what this
script writes.
"""

from __future__ import annotations

import json
from pathlib import Path

from advisor.present.registry import REGISTRY

ROOT = Path(__file__).resolve().parent.parent


def render() -> dict[str, str]:
    return {c.name: json.dumps(c.schema, indent=2, sort_keys=True) + "\n" for c in REGISTRY}


def main() -> None:
    folder = ROOT / "docs" / "schema"
    folder.mkdir(parents=True, exist_ok=True)
    for name, text in render().items():
        (folder / f"{name}.schema.json").write_text(text)


if __name__ == "__main__":
    main()
