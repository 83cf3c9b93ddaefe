"""vLLM on data-centre GPUs (CUDA, ROCm): the original safetensors weights (BF16) or their FP8 release, all on
the GPUs (no CPU offload), split by tensor parallelism."""

from __future__ import annotations

from shlex import quote

from advisor.engines.run import RunSpec


def backend(vendor: str, device_class: str) -> str | None:
    """The constants backend: vLLM on CUDA (`vllm`) and on ROCm (`vllm-rocm`, its own kernels: AITER, hipBLASLt)
    are fitted apart; data-centre GPUs only."""
    if device_class != "datacenter" or vendor not in ("nvidia", "amd"):
        return None
    return "vllm" if vendor == "nvidia" else f"vllm{ROCM}"


ROCM = "-rocm"  # the suffix of a serving engine's ROCm constants backend (vllm-rocm, sglang-rocm)


def command(run: RunSpec) -> str | None:
    if run.model.hf_repo is None or run.placement != "gpu" or run.recipe.base not in ("BF16", "FP8"):
        return None  # AWQ, GPTQ and NVFP4 need a pre-quantized repo, which the catalog does not name
    online_fp8 = " --quantization fp8" if run.recipe.base == "FP8" else ""  # vLLM quantizes BF16 weights on load
    return (f"vllm serve {quote(run.model.hf_repo)} --max-model-len {run.context_tokens} "
            f"--tensor-parallel-size {len(run.gpu_bytes)}{online_fp8}")
