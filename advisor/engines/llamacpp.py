"""llama.cpp (llama-server), and Ollama, which runs llama.cpp: GGUF files on every GPU backend and on the CPU.

A command names the estimated file only where the catalog knows a repository that hosts it (RunSpec.gguf_repo,
advisor.plan.commands.hosting_repo): `-hf repo:QUANT` and Ollama's `hf.co/repo:QUANT`. For a model published in one
file type (gpt-oss's MXFP4, a QAT build's Q4_0) its Ollama library tag, which can only hold that type. Otherwise
`-m <placeholder.gguf>` with a comment saying which file to get, and no Ollama command (a library tag's own file type
is not recorded, so it may be another quant than the estimate's).
"""

from __future__ import annotations

import re
from shlex import quote
from typing import Final

from advisor.engines.run import RunSpec
from advisor.hardware.vendors import llama_cpp_backend
from advisor.specs import ModelSpec

_OLLAMA_TAG: Final = re.compile(r"^[a-z0-9][a-z0-9._\-]*:[a-z0-9][a-z0-9._\-]*$")
_UNKNOWN_FILE: Final = "a {quant} GGUF of {origin}: no catalogued repository lists one"


def backend(vendor: str, device_class: str) -> str | None:
    """llama.cpp runs on every GPU: the vendor's own backend, else Vulkan; 'cpu' for the CPU."""
    return "cpu" if vendor == "cpu" else llama_cpp_backend(vendor)


def ollama_tag(aliases: tuple[str, ...]) -> str | None:
    return next((a for a in aliases if _OLLAMA_TAG.match(a)), None)


def installed_path(model: ModelSpec) -> str | None:
    """The file an estimate of a file on this machine runs (advisor.local, `estimate file.gguf`)."""
    return model.source.removeprefix("file://") if model.source.startswith("file://") else None


def command(run: RunSpec) -> str:
    """llama-server with the context, offload and cache settings that fit; every path and name shell-quoted."""
    path, repo = installed_path(run.model), run.gguf_repo
    note = ""
    if path is not None:
        source = f"-m {quote(path)}"
    elif repo:
        source = f"-hf {quote(f'{repo}:{run.recipe.name}')}"
    else:  # a placeholder for the file the user downloads, and what to look for
        source = f"-m <{quote(f'{run.model.id}-{run.recipe.name}.gguf')}>"
        note = "  # " + _UNKNOWN_FILE.format(quant=run.recipe.name, origin=run.model.hf_repo or run.model.name)
    parts = ["llama-server", source, f"-c {run.context_tokens}", _offload(run)]
    if run.placement in ("gpu", "gpu+cpu") and len(run.gpu_bytes) > 1:
        parts.append(("-sm tensor " if run.tensor_split else "") + "-ts "
                     + ",".join(str(round(b / 2**30)) for b in run.gpu_bytes))
    if run.sequences > 1:
        parts.append(f"-np {run.sequences}")
    if run.kv_cache_type != "F16":
        kind = run.kv_cache_type.lower()
        parts.append(f"-ctk {kind} -ctv {kind}")
    parts.append("-fa on")
    return " ".join(parts) + note


def _offload(run: RunSpec) -> str:
    if run.placement == "gpu":
        return "-ngl 99"
    if run.n_cpu_moe:
        return f"-ngl 99 --n-cpu-moe {run.n_cpu_moe}"
    if run.placement == "gpu+cpu":
        return f"-ngl {int(run.gpu_fraction * run.model.arch.layers)}"
    return "-ngl 0"


def ollama(run: RunSpec) -> str | None:
    """`ollama run` of the estimated file: an installed Ollama model's own tag (its only alias); for a model
    published in one file type, its library tag; else `hf.co/<repo>:<QUANT>` from a repository known to host that
    file; else None (no file of that type is known to Ollama)."""
    if installed_path(run.model) is not None:
        tag = run.model.aliases[0] if run.model.aliases else None
    else:
        own = run.model.native_quant is not None and run.model.native_quant.upper() == run.recipe.name.upper()
        tag = ollama_tag(run.model.aliases) if own else None
        if tag is None and run.gguf_repo is not None:
            tag = f"hf.co/{run.gguf_repo}:{run.recipe.name}"
    if tag is None:
        return None
    return f"ollama run {quote(tag)}  # then: /set parameter num_ctx {run.context_tokens}"
