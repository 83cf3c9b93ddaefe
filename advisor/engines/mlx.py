"""MLX (mlx-lm) on Apple GPUs: MLX files, from an mlx-community repo the catalog names, else converted locally
from the original weights with mlx_lm.convert (which quantizes them at the estimated bits)."""

from __future__ import annotations

from shlex import quote

from advisor.engines.run import RunSpec

# mlx_lm.convert flags for the file types it makes itself (MLX-MXFP4-MoE is only published, never converted)
_FLAGS = {f"MLX-{b}bit{g}": f"--q-bits {b}" + (" --q-group-size 32" if g else "")
          for b in (3, 4, 5, 6, 8) for g in ("", "-g32")}
_FLAGS |= {"MLX-mxfp4": "--q-mode mxfp4", "MLX-nvfp4": "--q-mode nvfp4"}


def backend(vendor: str, device_class: str) -> str | None:
    return "mlx" if vendor == "apple" else None


def command(run: RunSpec) -> str | None:
    repo = next((a for a in run.model.aliases if a.startswith("mlx-community/")), None)
    if repo is not None:
        return f"mlx_lm.server --model {quote(repo)}"
    flags = _FLAGS.get(run.recipe.name)
    if run.model.hf_repo is None or flags is None:
        return None
    local = quote(f"{run.model.id}-{run.recipe.name.removeprefix('MLX-').lower()}-mlx")
    return (f"mlx_lm.convert --hf-path {quote(run.model.hf_repo)} -q {flags} --mlx-path {local} && "
            f"mlx_lm.server --model {local}")
