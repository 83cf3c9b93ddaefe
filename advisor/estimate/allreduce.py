"""Tensor parallelism's all-reduces: what the catalog knows of a GPU's link, and what a layer's all-reduces cost.
Pure. The one rule `estimate` (a vLLM lane on several GPUs) and `serve` (a decode step) both price them with."""

from __future__ import annotations

from advisor.specs import Defaults


def allreduce_link(d: Defaults, gpu_id: str | None) -> tuple[float, float, bool] | None:
    """(all-reduce bus bandwidth GB/s, latency s per call, over PCIe) for tensor parallelism on this GPU, from the
    catalog (catalog/defaults.yaml): the NVLink or Infinity Fabric figure of a listed GPU, else PCIe's for a listed
    PCIe card; None where neither is known."""
    if gpu_id is None:
        return None
    busbw = d.allreduce_busbw_gbps.get(gpu_id)
    if busbw is not None:
        return busbw, 0.0, False
    gen = d.allreduce_pcie_generation.get(gpu_id)
    pcie = d.allreduce_pcie_busbw_gbps.get(str(gen)) if gen else None
    return None if pcie is None else (pcie, d.allreduce_pcie_latency_s, True)


def allreduce_layer_s(tp: int, hidden: int, tokens: float, link: tuple[float, float]) -> float:
    """A layer's two all-reduces (after attention and after the MLP) of `tokens` tokens' BF16 activations across
    `tp` GPUs, ring algorithm: latency + 2 (tp - 1) / tp x bytes / bus bandwidth each."""
    busbw, latency = link
    return 2 * (latency + 2 * (tp - 1) / tp * tokens * hidden * 2 / (busbw * 1e9))


def tensor_sync_s(defaults: Defaults, gpu_id: str | None, gpus: int, hidden: int) -> float:
    """A decode step's all-reduce time per layer for one token on `gpus` of this GPU; 0 where the catalog does not
    know its link (what `estimate`'s tensor-parallel lane and the fit's multi-GPU runs add to each layer)."""
    link = allreduce_link(defaults, gpu_id)
    return allreduce_layer_s(gpus, hidden, 1, link[:2]) if link else 0.0
