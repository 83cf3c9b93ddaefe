"""`advisor plan MODEL --users N`: the cheapest catalog deployments that serve N users at a speed. Pure.

Each candidate (one GPU, a node of 2, 4 or 8, and 2 or 4 such nodes in a pipeline) goes through `advisor serve`
(advisor.plan.serve); it qualifies when serve's verdict reaches N users.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from advisor.engines import engine_for
from advisor.errors import UsageError
from advisor.estimate.estimator import Estimator
from advisor.estimate.machine import hypothetical, resolve
from advisor.plan.serve import ServeRequest, Serving, serve_on
from advisor.specs import GpuSpec, ModelSpec

NODE_SIZES = (1, 2, 4, 8)  # GPUs per node
NODE_COUNTS = (1, 2, 4)  # nodes in a pipeline (vLLM/SGLang)


@dataclass(frozen=True, slots=True)
class ServeOption:
    label: str
    gpu: GpuSpec
    gpus_per_node: int
    nodes: int
    price_usd: float | None  # the GPUs' launch price in all (nodes, network and RAM not counted)
    serving: Serving

    @property
    def gpus(self) -> int:
        return self.gpus_per_node * self.nodes


@dataclass(frozen=True, slots=True)
class ServePlan:
    request: ServeRequest
    options: tuple[ServeOption, ...]  # cheapest first
    total: int  # how many qualify before --limit
    network_gbps: float  # between nodes, assumed or given


def _candidates(gpu: GpuSpec, engine: str) -> list[tuple[int, int]]:
    """(GPUs per node, nodes) to try: llama.cpp splits layers within one machine; vLLM/SGLang go multi-node."""
    nodes = (1,) if engine == "llama.cpp" else NODE_COUNTS
    return [(n, k) for k in nodes for n in NODE_SIZES if not (k > 1 and n < 8)]  # multi-node: full 8-GPU nodes


def _runs(gpu: GpuSpec, engine: str) -> bool:
    runtime = "llama.cpp" if engine == "llama.cpp" else "vllm"
    return gpu.kind == "discrete" and engine_for(runtime).backend(gpu.vendor, gpu.device_class) is not None \
        and gpu.bandwidth_gbps is not None


def serve_plan(model: ModelSpec, est: Estimator, req: ServeRequest, *, network_gbps: float, limit: int = 10,
               vendor: str | None = None) -> ServePlan:
    """Deployments whose serve verdict reaches req.users, cheapest first where a price is known, then fewest GPUs."""
    catalog = est.catalog
    if req.max_ttft_s is None:
        req = replace(req, max_ttft_s=catalog.defaults.max_ttft_s)
    found: list[ServeOption] = []
    for gpu in catalog.gpus:
        if not _runs(gpu, req.engine) or (vendor is not None and gpu.vendor.lower() != vendor):
            continue
        for per_node, nodes in _candidates(gpu, req.engine):
            option = _try(est, model, gpu, per_node, nodes, replace(req, nodes=nodes, network_gbps=network_gbps))
            if option is not None:
                found.append(option)
                break  # the smallest layout of this GPU that serves them; bigger ones cost more
    found.sort(key=lambda o: (o.price_usd is None, o.price_usd or 0.0, o.gpus, -o.serving.verdict_users))
    return ServePlan(req, tuple(found[:limit] if limit else found), len(found), network_gbps)


def _try(est: Estimator, model: ModelSpec, gpu: GpuSpec, per_node: int, nodes: int,
         req: ServeRequest) -> ServeOption | None:
    catalog = est.catalog
    hw = hypothetical(None, catalog, gpu=f"{per_node}x {gpu.id}", ram_bytes=catalog.defaults.hypothetical_ram_bytes)
    try:
        s = serve_on(est, model, resolve(hw, catalog), req)
    except UsageError:  # the file type does not run there
        return None
    if s.verdict_users < req.users:
        return None
    label = (gpu.name if per_node == 1 else f"{per_node}x {gpu.name}") + (f", {nodes} nodes" if nodes > 1 else "")
    price = gpu.launch_price_usd * per_node * nodes if gpu.launch_price_usd else None
    return ServeOption(label, gpu, per_node, nodes, price, s)
