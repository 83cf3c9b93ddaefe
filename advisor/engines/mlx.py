"""MLX (mlx-lm) on Apple GPUs: MLX files, from an mlx-community repo the catalog names, else converted locally
from the original weights with mlx_lm.convert (which quantizes them at the estimated bits)."""

from __future__ import annotations

from shlex import quote

from advisor.engines.run import RunSpec

_BITS = {"MLX-4bit": 4, "MLX-8bit": 8}


def backend(vendor: str, device_class: str) -> str | None:
    return "mlx" if vendor == "apple" else None


def command(run: RunSpec) -> str | None:
    repo = next((a for a in run.model.aliases if a.startswith("mlx-community/")), None)
    if repo is not None:
        return f"mlx_lm.server --model {quote(repo)}"
    bits = _BITS.get(run.recipe.name)
    if run.model.hf_repo is None or bits is None:
        return None
    local = quote(f"{run.model.id}-{bits}bit-mlx")
    return (f"mlx_lm.convert --hf-path {quote(run.model.hf_repo)} -q --q-bits {bits} --mlx-path {local} && "
            f"mlx_lm.server --model {local}")
