"""llama.cpp (llama-server), and Ollama, which runs llama.cpp: GGUF files on every GPU backend and on the CPU.

Repository names and tags come from the catalog (a model's aliases): a Hugging Face repo ending in -GGUF for -hf,
an Ollama tag (name:tag).
"""

from __future__ import annotations

import re
from shlex import quote
from typing import Final

from advisor.engines.run import RunSpec
from advisor.hardware.vendors import llama_cpp_backend

_OLLAMA_TAG: Final = re.compile(r"^[a-z0-9][a-z0-9._\-]*:[a-z0-9][a-z0-9._\-]*$")
_GGUF_PUBLISHERS: Final = ("ggml-org/", "unsloth/", "bartowski/", "lmstudio-community/")


def backend(vendor: str, device_class: str) -> str | None:
    """llama.cpp runs on every GPU: the vendor's own backend, else Vulkan; 'cpu' for the CPU."""
    return "cpu" if vendor == "cpu" else llama_cpp_backend(vendor)


def gguf_repo(aliases: tuple[str, ...]) -> str | None:
    repos = [a for a in aliases if "/" in a and a.lower().endswith("-gguf")]
    repos.sort(key=lambda r: next((i for i, p in enumerate(_GGUF_PUBLISHERS) if r.startswith(p)), 9))
    return repos[0] if repos else None


def ollama_tag(aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if _OLLAMA_TAG.match(a)), None)


def command(run: RunSpec) -> str:
    """llama-server with the context, offload and cache settings that fit; every path and name shell-quoted."""
    repo = gguf_repo(run.model.aliases)
    if run.model.source.startswith("file://"):
        source = f"-m {quote(run.model.source.removeprefix('file://'))}"
    elif repo:
        source = f"-hf {quote(f'{repo}:{run.recipe.name}')}"
    else:  # a placeholder for the file the user downloads
        source = f"-m <{quote(f'{run.model.id}-{run.recipe.name}.gguf')}>"
    parts = ["llama-server", source, f"-c {run.context_tokens}", _offload(run)]
    if run.placement in ("gpu", "gpu+cpu") and len(run.gpu_bytes) > 1:
        parts.append("-ts " + ",".join(str(round(b / 2**30)) for b in run.gpu_bytes))
    if run.sequences > 1:
        parts.append(f"-np {run.sequences}")
    if run.kv_cache_type != "F16":
        kind = run.kv_cache_type.lower()
        parts.append(f"-ctk {kind} -ctv {kind}")
    parts.append("-fa on")
    return " ".join(parts)


def _offload(run: RunSpec) -> str:
    if run.placement == "gpu":
        return "-ngl 99"
    if run.n_cpu_moe:
        return f"-ngl 99 --n-cpu-moe {run.n_cpu_moe}"
    if run.placement == "gpu+cpu":
        return f"-ngl {int(run.gpu_fraction * run.model.arch.layers)}"
    return "-ngl 0"


def ollama(run: RunSpec) -> str | None:
    tag = ollama_tag(run.model.aliases)
    if tag is None:
        return None
    return f"ollama run {quote(tag)}  # then: /set parameter num_ctx {run.context_tokens}"
