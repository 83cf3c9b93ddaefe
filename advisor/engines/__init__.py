"""Inference engines: which devices and file types each runs, the speed-constant key it is fitted under, and the
command line that runs an estimate. Pure.

The speed model (advisor.estimate) has one engine dimension: constants are fitted and looked up per
`backend:class`, where the backend is the engine's own (llama.cpp: the vendor's GPU backend, cuda/rocm/metal/...;
MLX: mlx; vLLM: vllm on CUDA, vllm-rocm on ROCm). Adding an engine: one module here with backend() and command(),
and one entry below.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from advisor.engines import llamacpp, mlx, vllm
from advisor.engines.run import RunSpec

__all__ = ["ENGINES", "SORTED_EXPERT_PREFILL", "TILED_EXPERT_PREFILL", "Engine", "RunSpec", "constants_engine",
           "engine_for", "stand_in"]


@dataclass(frozen=True, slots=True)
class Engine:
    name: str  # as printed and in JSON: llama.cpp | mlx | vllm
    runtime: str  # the QuantRecipe.runtime of the files it runs
    backend: Callable[[str, str], str | None]  # (vendor, device class) -> constants backend, None: not on it
    cpu_offload: bool  # whether layers or experts may run from system RAM
    command: Callable[[RunSpec], str | None]
    # the engine's own file offered beside a llama.cpp estimate, by the estimate's quality rank (first match)
    offers: tuple[tuple[str, int], ...] = ()
    # several GPUs split every layer's tensors and run at once (vLLM's --tensor-parallel-size), where llama.cpp's
    # layer split runs the GPUs one after another (its -sm tensor splits tensors too, when asked: Placement)
    tensor_parallel: bool = False
    # bytes of one activation its tensor-parallel all-reduces move: BF16 in vLLM, F32 in ggml's graphs (llama.cpp)
    allreduce_element_bytes: int = 4
    # MLA attention runs over the compressed cache for prompts too (the "absorbed" form, MQA over kv_lora_rank +
    # rope_head_dim): llama.cpp's deepseek2 graph does it whenever the file is MLA ("MLA with the absorption
    # optimzation converts into MQA", https://github.com/ggml-org/llama.cpp/blob/07bede6a8f329362c72d46a0bc9756b6a12c22eb/src/models/deepseek2.cpp),
    # so a prompt's attention costs 2 x heads x (2 x kv_lora_rank + rope) FLOPs a context token (DeepSeek V3: 3.4x
    # the decompressed form's). vLLM and SGLang prefill in the decompressed form (their MLA backends absorb for
    # decode only); mlx-lm is left in the decompressed form, unconfirmed
    absorbed_mla: bool = False

    def offer_for(self, quality_rank: int) -> str | None:
        return next((name for name, floor in self.offers if quality_rank >= floor), None)


ENGINES: Final = (
    Engine("llama.cpp", "llama.cpp", llamacpp.backend, True, llamacpp.command, absorbed_mla=True),
    Engine("mlx", "mlx", mlx.backend, False, mlx.command, (("MLX-8bit", 80), ("MLX-4bit", 0))),
    Engine("vllm", "vllm", vllm.backend, False, vllm.command, (("vLLM-BF16", 0),), tensor_parallel=True,
           allreduce_element_bytes=2),
)


_BY_RUNTIME: Final = {e.runtime: e for e in ENGINES}


def engine_for(runtime: str) -> Engine:
    """The engine that runs files of `runtime` (a quantization recipe's runtime)."""
    found = _BY_RUNTIME.get(runtime)
    if found is None:
        msg = f"no engine runs {runtime!r} files"
        raise ValueError(msg)
    return found


# engines whose MoE prefill sorts a prompt's tokens by expert and runs each expert's rows as one batched matmul, so
# routed experts prefill at the dense efficiency: mlx-lm's SwitchGLU ("do_sort = indices.size >= 64", then
# gather_qmm with sorted_indices; https://github.com/ml-explore/mlx-lm/blob/main/mlx_lm/models/switch_layers.py) and
# vLLM's fused MoE (moe_align_block_size groups the tokens of each expert into blocks;
# https://github.com/vllm-project/vllm/blob/main/vllm/model_executor/layers/fused_moe/fused_moe.py), which SGLang uses
SORTED_EXPERT_PREFILL: Final = frozenset({"mlx", "vllm"})

# backends whose MoE prefill runs each expert's tokens of a pass as matmul tiles of a fixed width: llama.cpp's CUDA
# backend groups a pass's tokens by expert and runs MMQ tiles of up to 128 of them (get_mmq_x_max_host,
# https://github.com/ggml-org/llama.cpp/blob/master/ggml/src/ggml-cuda/mmq.cuh; defaults.yaml moe_prefill_tile_tokens).
# A tile costs a fixed part and a part per token, so an expert's matmuls run more efficiently the more tokens of the
# pass it gets: estimate.experts.expert_batch_scale. HIP builds the same mmq.cuh and picks the tile width against all
# of a pass's tokens too ("at large ncols_max the selection lands on wide tiles (e.g. mmq_x=128) that are mostly empty
# per expert", https://github.com/AMD-Ecosystem/llama.cpp/pull/39; upstream sizes them to the tokens per expert on
# RDNA 3 and 4 since PR 28552, 2026-09), so ROCm takes the term too. Validation has gone both ways on it as runs came
# in (shipped 2026-12-06, left with the Radeon 890M's runs, back with round 12's: leaving each device out, prefill
# 19.4 % against 21.0 % on CUDA alone, 90th percentile 59.6 % against 63.8 %; docs/accuracy.md keeps the row). Other
# backends keep one ratio: Vulkan's shaders tile each expert's rows too, and its runs show the shape against each
# device's own dense runs (scripts/expert_ratio.py), but held out the term there validates worse (docs/estimation.md)
TILED_EXPERT_PREFILL: Final = frozenset({"cuda", "rocm"})

# SGLang (advisor serve) takes vLLM's constants, on each vendor's stack, until it has fits of its own
_STANDS_IN: Final = {"sglang": "vllm", f"sglang{vllm.ROCM}": f"vllm{vllm.ROCM}"}


def run_backend(backend: str, vendor: str, device_class: str) -> str:
    """The constants backend of a published run on a GPU: its own (cuda, rocm, metal, mlx ...), vLLM's per vendor
    (vllm, vllm-rocm), as an estimate on that GPU names it."""
    if backend != "vllm":
        return backend
    return engine_for("vllm").backend(vendor, device_class) or backend


def stand_in(backend: str) -> str | None:
    """The backend whose constants an engine without fits of its own takes (sglang -> vllm), else None."""
    return _STANDS_IN.get(backend)


def constants_engine(backend: str) -> str:
    """The engine whose speed constants a backend key holds: an engine other than llama.cpp keys its constants by its
    own name (mlx, vllm); every other backend (cuda, rocm, metal, vulkan, sycl, cpu) is one of llama.cpp's."""
    backend = _STANDS_IN.get(backend, backend).removesuffix(vllm.ROCM)
    return backend if backend in _BY_RUNTIME and backend != "llama.cpp" else "llama.cpp"
