"""Tensor parallelism's all-reduces: what the catalog knows of a GPU's link, and what a layer's all-reduces cost.
Pure. The one rule `estimate` (a vLLM lane on several GPUs, llama.cpp's -sm tensor) and `serve` (a decode step) all
price them with."""

from __future__ import annotations

from advisor.specs import Defaults, GpuSpec

# GeForce drivers give no peer-to-peer access between cards: their copies, NCCL's included, go through host memory
HOST_STAGED_CLASSES = frozenset({"consumer", "laptop"})


def allreduce_link(d: Defaults, gpu: GpuSpec | None) -> tuple[float, float, bool] | None:
    """(all-reduce bus bandwidth GB/s, latency s per call, over PCIe) for tensor parallelism on this catalog GPU, from
    the catalog (catalog/defaults.yaml): the NVLink or Infinity Fabric figure of a listed GPU, else PCIe's for a listed
    PCIe card, else the host-staged figure for a GeForce card (no peer-to-peer); None where none is known (and for a
    GPU the catalog does not list)."""
    if gpu is None:
        return None
    busbw = d.allreduce_busbw_gbps.get(gpu.id)
    if busbw is not None:
        return busbw, 0.0, False
    gen = d.allreduce_pcie_generation.get(gpu.id)
    pcie = d.allreduce_pcie_busbw_gbps.get(str(gen)) if gen else None
    if pcie is not None:
        return pcie, d.allreduce_pcie_latency_s, True
    if gpu.vendor == "nvidia" and gpu.device_class in HOST_STAGED_CLASSES:
        return d.allreduce_host_busbw_gbps, d.allreduce_host_latency_s, True
    return None


def allreduce_layer_s(tp: int, hidden: int, tokens: float, link: tuple[float, float], element_bytes: int = 2) -> float:
    """A layer's two all-reduces (after attention and after the MLP) of `tokens` tokens' activations
    (`element_bytes` each: BF16 in vLLM and SGLang, F32 in llama.cpp) across `tp` GPUs, ring algorithm:
    latency + 2 (tp - 1) / tp x bytes / bus bandwidth each."""
    busbw, latency = link
    return 2 * (latency + 2 * (tp - 1) / tp * tokens * hidden * element_bytes / (busbw * 1e9))


def tensor_split_s(d: Defaults, gpu: GpuSpec | None, gpus: int, hidden: int, layers: int,
                   element_bytes: int) -> tuple[float, float]:
    """On `gpus` of this catalog GPU: (a decode step's all-reduces per layer, one token; a prompt
    token's all-reduce bytes over all `layers`, at the link's bandwidth: a pass's latencies are shared by its tokens
    and not counted); (0, 0) where the catalog does not know the link (what estimate's tensor-parallel lane and the
    fit's tensor-parallel runs add)."""
    link = allreduce_link(d, gpu)
    if link is None:
        return 0.0, 0.0
    decode = allreduce_layer_s(gpus, hidden, 1, link[:2], element_bytes)
    return decode, layers * allreduce_layer_s(gpus, hidden, 1, (link[0], 0.0), element_bytes)
