"""The command lines that run an estimate's choice: llama.cpp, Ollama, MLX, vLLM. Pure.

Repository names and tags come from the catalog (a model's aliases): a Hugging Face repo ending in -GGUF for
llama.cpp's -hf, an Ollama tag (name:tag), an mlx-community repo for MLX.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from advisor.estimate.machine import Machine
    from advisor.plan.recommend import Estimate

_OLLAMA_TAG = re.compile(r"^[a-z0-9][a-z0-9._\-]*:[a-z0-9][a-z0-9._\-]*$")
_GGUF_PUBLISHERS = ("ggml-org/", "unsloth/", "bartowski/", "lmstudio-community/")


def gguf_repo(aliases: tuple[str, ...]) -> str | None:
    repos = [a for a in aliases if "/" in a and a.lower().endswith("-gguf")]
    repos.sort(key=lambda r: next((i for i, p in enumerate(_GGUF_PUBLISHERS) if r.startswith(p)), 9))
    return repos[0] if repos else None


def ollama_tag(aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if _OLLAMA_TAG.match(a)), None)


def mlx_repo(aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if a.startswith("mlx-community/")), None)


def llama_cpp(e: Estimate, machine: Machine) -> str:
    """llama-server with the context, offload and cache settings that fit."""
    repo = gguf_repo(e.model.aliases)
    if e.model.source.startswith("file://"):
        source = f"-m {e.model.source.removeprefix('file://')}"
    else:
        source = f"-hf {repo}:{e.recipe.name}" if repo else f"-m <{e.model.id}-{e.recipe.name}.gguf>"
    parts = ["llama-server", source, f"-c {e.context_tokens}"]
    p = e.placement
    if p.kind == "gpu":
        parts.append("-ngl 99")
    elif p.n_cpu_moe:
        parts.append(f"-ngl 99 --n-cpu-moe {p.n_cpu_moe}")
    elif p.kind == "gpu+cpu":
        parts.append(f"-ngl {int(p.gpu_fraction * e.model.arch.layers)}")
    else:
        parts.append("-ngl 0")
    if p.kind in ("gpu", "gpu+cpu") and len(p.gpu_bytes) > 1:
        parts.append("-ts " + ",".join(str(round(b / 2**30)) for b in p.gpu_bytes))
    if e.sequences > 1:
        parts.append(f"-np {e.sequences}")
    if e.kv.cache_type != "F16":
        kind = e.kv.cache_type.lower()
        parts.append(f"-ctk {kind} -ctv {kind}")
    parts.append("-fa on")
    return " ".join(parts)


def ollama(e: Estimate) -> str | None:
    tag = ollama_tag(e.model.aliases)
    if tag is None:
        return None
    return f"ollama run {tag}  # then: /set parameter num_ctx {e.context_tokens}"


def mlx(e: Estimate, machine: Machine) -> str | None:
    repo = mlx_repo(e.model.aliases)
    if repo is None or not any(d.device.vendor == "apple" for d in machine.devices):
        return None
    return f"mlx_lm.server --model {repo}"


def vllm(e: Estimate, machine: Machine) -> str | None:
    """vLLM serves the original weights: only on NVIDIA data-centre GPUs whose memory holds them."""
    devices = machine.devices
    if not devices or any(d.device.vendor != "nvidia" or d.speed_class != "datacenter" for d in devices):
        return None
    if e.model.hf_repo is None or e.placement.kind != "gpu":
        return None
    bf16_bytes = 2 * e.model.params_total + e.kv.total_bytes
    if bf16_bytes > sum(d.memory_usable_bytes for d in devices):
        return None
    return f"vllm serve {e.model.hf_repo} --max-model-len {e.context_tokens} --tensor-parallel-size {len(devices)}"


def commands(e: Estimate, machine: Machine) -> dict[str, str | None]:
    """Every runtime's command for an estimate that fits; nothing for one that does not."""
    if e.placement.kind == "none":
        return {"llama.cpp": None, "ollama": None, "mlx": None, "vllm": None}
    return {"llama.cpp": llama_cpp(e, machine), "ollama": ollama(e), "mlx": mlx(e, machine), "vllm": vllm(e, machine)}
