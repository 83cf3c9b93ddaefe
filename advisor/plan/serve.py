"""`advisor serve`: how many users a machine (or a cluster of them) serves with vLLM, SGLang or llama-server. Pure.

Everything per model comes from the Estimator (weights, KV, the engine's speed constants); the serving arithmetic is
advisor.estimate.serving.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from advisor.engines import engine_for
from advisor.engines.serving import ServeSpec, serve_command
from advisor.errors import UsageError
from advisor.estimate.allreduce import allreduce_link
from advisor.estimate.arrivals import graphed_tokens, prefill_budget
from advisor.estimate.capacity import Capacity, Topology, sglang_capacity, slots_capacity, vllm_capacity
from advisor.estimate.constants import Constants, speed_family
from advisor.estimate.estimator import INTERACTIVE_TOKENS_PER_S, Estimator, Request
from advisor.estimate.machine import Machine, MachineDevice, device_tflops
from advisor.estimate.serving import ENGINES, Curve, Step, curve, user_counts, verdict
from advisor.estimate.speed import Work, experts_per_token, make_lane
from advisor.estimate.weights import weight_kind
from advisor.plan.commands import hosting_repo
from advisor.specs import ModelSpec, QuantRecipe

DEFAULT_QUANT = {"vllm": "vLLM-BF16", "sglang": "vLLM-BF16", "llama.cpp": "Q4_K_M"}


@dataclass(frozen=True, slots=True)
class ServeRequest:
    engine: str = "vllm"
    users: int = 64
    context_tokens: int = 8192  # per sequence
    prompt_tokens: int = 1024
    output_tokens: int = 256
    min_tokens_per_s: float = INTERACTIVE_TOKENS_PER_S
    max_ttft_s: float | None = None  # None: the catalog default (defaults.max_ttft_s)
    quant: str | None = None
    nodes: int = 1
    network_gbps: float | None = None  # GB/s between nodes
    expert_parallel: int = 1  # MoE: groups of a node's GPUs that hold whole experts (1: experts sliced by TP);
    # 0: every GPU of the node its own group (--expert-parallel)


@dataclass(frozen=True, slots=True)
class Serving:
    model: ModelSpec
    recipe: QuantRecipe
    machine: Machine
    request: ServeRequest
    topology: Topology
    capacity: Capacity
    curve: Curve
    max_ttft_s: float
    verdict_users: int  # the most users served at min_tokens_per_s and within max_ttft_s
    command: str | None
    constants: str  # where the speed constants come from
    notes: tuple[str, ...]
    step: Step  # one decode step's cost, for any batch


def check(req: ServeRequest) -> None:
    if req.engine not in ENGINES:
        raise UsageError(f"--engine must be one of {', '.join(ENGINES)}, got {req.engine!r}")
    if not 1 <= req.users <= 4096:
        raise UsageError(f"--users must be between 1 and 4096, got {req.users}")
    if not 1 <= req.nodes <= 64:
        raise UsageError(f"--nodes must be between 1 and 64, got {req.nodes}")
    if req.nodes > 1 and req.network_gbps is None:
        raise UsageError("--nodes above 1 needs --interconnect, the network between nodes (e.g. 400Gbps)")
    if req.prompt_tokens < 1 or req.output_tokens < 1 or req.prompt_tokens + req.output_tokens > req.context_tokens:
        raise UsageError(f"--prompt ({req.prompt_tokens}) and --output ({req.output_tokens}) must be at least 1 and "
                         f"fit in --context ({req.context_tokens})")
    if req.expert_parallel < 0:
        raise UsageError(f"expert parallel groups must be 0 (all GPUs) or more, got {req.expert_parallel}")
    if req.max_ttft_s is not None and not 0 < req.max_ttft_s < 1e6:
        raise UsageError(f"--max-ttft must be a positive number of seconds, got {req.max_ttft_s}")


def recipe_for(est: Estimator, model: ModelSpec, req: ServeRequest) -> QuantRecipe:
    """The file type: --quant, else the model's own format, else the engine's default; it must be the engine's."""
    runtime = "llama.cpp" if req.engine == "llama.cpp" else "vllm"
    name = req.quant or (model.native_quant if model.native_quant else DEFAULT_QUANT[req.engine])
    recipe = est.catalog.recipe(name)
    if recipe.runtime != runtime and not (model.native_quant and recipe.name == model.native_quant):
        raise UsageError(f"{recipe.name} is not a {req.engine} file type (try --quant {DEFAULT_QUANT[req.engine]})")
    return recipe


def serve(est: Estimator, model: ModelSpec, machine: Machine, req: ServeRequest,
          link: tuple[float, float] | None = None, *, pcie: bool = False) -> Serving:
    """Capacity, curve and verdict for `model` on `machine` (one node; `req.nodes` of them in a pipeline).
    `link`: the GPUs' all-reduce bandwidth (GB/s) and latency (s) inside a node, where the catalog knows it
    (`pcie`: the catalog's PCIe figures, said in the notes)."""
    dev, backend = _checked(model, machine, req)
    recipe = recipe_for(est, model, req)
    notes: list[str] = []
    topo = _topology(machine, req, link if req.engine != "llama.cpp" else None, notes, model.is_moe)
    if pcie and topo.tensor_parallel > 1 and link is not None:
        notes.append(f"all-reduce over PCIe at {link[0]:g} GB/s and {link[1] * 1e6:g} us a call (measured between "
                     "cards with peer-to-peer access; without it, through host memory, several times slower)")
    capacity = _capacity(est, model, recipe, machine, req, topo, dev)
    c = est.speeds.constants(backend, dev.speed_class, speed_family(dev.spec))
    step, prompt_work = _step(est, model, recipe, req, dev, (backend, c), topo)
    found = curve(step, prompt_work, req.prompt_tokens, req.output_tokens, capacity.max_concurrent_sequences,
                  user_counts(req.users))
    max_ttft = req.max_ttft_s if req.max_ttft_s is not None else est.catalog.defaults.max_ttft_s
    best = verdict(step, found.prefill_tokens_per_s, req.prompt_tokens, req.output_tokens,
                   capacity.max_concurrent_sequences, req.users, req.min_tokens_per_s, max_ttft)
    if found.prefill_tokens_per_s is None:
        notes.append("TTFT not estimated: no FP16 throughput figure for this GPU; the verdict checks speed only")
    if capacity.max_concurrent_sequences == 0:
        notes.append(f"does not fit: no room for one sequence of {req.context_tokens} tokens")
    repo = hosting_repo(model, recipe.name, est, step.weights) if req.engine == "llama.cpp" else None
    spec = ServeSpec(model, recipe, req.context_tokens, min(req.users, capacity.max_concurrent_sequences),
                     topo.tensor_parallel, topo.pipeline_parallel, topo.nodes, repo, topo.expert_parallel)
    command = serve_command(req.engine, spec) if capacity.max_concurrent_sequences else None
    return Serving(model, recipe, machine, req, topo, capacity, found, max_ttft, best, command, c.basis,
                   tuple(notes), step)


def _checked(model: ModelSpec, machine: Machine, req: ServeRequest) -> tuple[MachineDevice, str]:
    """The node's GPU and the constants backend, after checking the request fits what serve plans."""
    check(req)
    if not machine.devices:
        raise UsageError("serve needs a GPU: name one with --gpu (e.g. --gpu H100 or --gpu \"8x H100\")")
    dev = machine.devices[0]
    if any(d.spec is not dev.spec or d.device.name != dev.device.name for d in machine.devices):
        raise UsageError("serve plans identical GPUs in a node; name one kind, e.g. --gpu \"4x H100\"")
    if model.arch.max_context_tokens and req.context_tokens > model.arch.max_context_tokens:
        raise UsageError(f"--context {req.context_tokens} is above {model.name}'s maximum, "
                         f"{model.arch.max_context_tokens} tokens")
    backend = _backend(req.engine, dev)
    if backend is None or dev.bandwidth_gbps is None:
        raise UsageError(f"{req.engine} does not run on {dev.device.name} here (vLLM and SGLang: data-centre "
                         "NVIDIA and AMD GPUs), or its memory bandwidth is unknown")
    return dev, backend


def _step(est: Estimator, model: ModelSpec, recipe: QuantRecipe, req: ServeRequest, dev: MachineDevice,
          engine: tuple[str, Constants], topo: Topology) -> tuple[Step, Work]:
    """One decode step's cost at the mean depth (prompt + output/2), and a prompt token's work (at half the
    prompt), from the estimator's weights, KV and work and one GPU's lane with the engine's constants."""
    weights = est.weights(model, recipe)
    kv = est.kv(model, Request(context_tokens=req.context_tokens, sequences=1), req.context_tokens)
    backend, c = engine
    lane = make_lane(dev.device.name, 1.0, dev.bandwidth_gbps or 0.0, device_tflops(dev, backend), c,
                     experts=experts_per_token(model),
                     graphed_tokens=graphed_tokens(est.catalog.defaults, req.engine))
    moe, kind = model.moe, weight_kind(recipe, est.catalog.types)
    work = est.work(model, weights, kv, req.prompt_tokens + req.output_tokens // 2, kind)
    budget = prefill_budget(est.catalog.defaults, req.engine, dev.spec.id if dev.spec else None,
                            dev.device.memory_total_bytes)
    step = Step(work, weights, kv, lane, moe.experts_per_token if moe else 0, moe.experts if moe else 0,
                model.arch.hidden_size, topo, budget, c.sequence_step_s)
    return step, est.work(model, weights, kv, req.prompt_tokens // 2, kind)


def serve_on(est: Estimator, model: ModelSpec, machine: Machine, req: ServeRequest) -> Serving:
    """serve() with the GPUs' all-reduce bandwidth and latency from the catalog (estimate.allreduce.allreduce_link)."""
    spec = machine.devices[0].spec if machine.devices else None
    link = allreduce_link(est.catalog.defaults, spec)
    if link is None:
        return serve(est, model, machine, req, None)
    return serve(est, model, machine, req, link[:2], pcie=link[2])


def network_gbps(text: str) -> float:
    """--interconnect: '400Gbps' (bits) or '50GB/s' (bytes) -> GB/s."""
    import re

    found = re.fullmatch(r"\s*([0-9]+(?:\.[0-9]+)?)\s*(gbps|gbit/s|gb/s|gbytes/s)?\s*", text.lower())
    if found is None or float(found.group(1)) <= 0 or float(found.group(1)) > 1e6:
        raise UsageError(f"--interconnect must be a bandwidth such as 400Gbps or 50GB/s, got {text!r}")
    value = float(found.group(1))
    return value / 8 if found.group(2) in (None, "gbps", "gbit/s") else value


def _backend(engine: str, dev: MachineDevice) -> str | None:
    """The constants backend: vLLM's own per vendor (vllm, vllm-rocm), SGLang's (sglang, sglang-rocm: it takes the
    same vendor's vLLM constants), llama.cpp's GPU backend; None where the engine does not run on the device."""
    if engine == "llama.cpp":
        return engine_for("llama.cpp").backend(dev.device.vendor, dev.speed_class)
    vllm = engine_for("vllm").backend(dev.device.vendor, dev.speed_class)
    if vllm is None:
        return None
    return vllm if engine == "vllm" else engine + vllm.removeprefix("vllm")  # sglang, sglang-rocm


def _topology(machine: Machine, req: ServeRequest, link: tuple[float, float] | None, notes: list[str],
              model_moe: bool) -> Topology:
    gpus = len(machine.devices)
    if req.engine == "llama.cpp":  # llama.cpp splits layers across GPUs and RPC nodes: they run one after another
        if req.expert_parallel != 1:
            raise UsageError("llama.cpp splits layers, not experts: expert parallelism is vLLM's and SGLang's")
        if gpus > 1 or req.nodes > 1:
            notes.append("llama.cpp splits the layers across GPUs (and RPC nodes), which run one after another: "
                         "the same step time as one GPU, more room for the cache")
        return Topology(1, 1)
    ep = _expert_groups(req, gpus, model_moe)
    if gpus > 1 and model_moe:
        notes.append(_expert_note(ep, gpus, req.engine))
    if gpus > 1 and link is None:
        notes.append("all-reduce cost not counted: this GPU's interconnect is not in the catalog")
    bw, latency = link or (None, 0.0)
    return Topology(gpus, req.nodes, bw, latency, req.network_gbps, 0.0, ep)


def _expert_groups(req: ServeRequest, gpus: int, model_moe: bool) -> int:
    """Expert-parallel groups in a node: 1 (experts sliced) unless asked; they must divide its GPUs, and vLLM
    spreads experts over every GPU of its tensor-parallel group or none."""
    ep = gpus if req.expert_parallel == 0 else req.expert_parallel
    if ep == 1:
        return 1
    if not model_moe:
        raise UsageError("expert parallelism needs a mixture-of-experts model")
    if gpus % ep or ep > gpus or (req.engine == "vllm" and ep != gpus):
        raise UsageError(f"expert parallel groups ({ep}) must divide the node's {gpus} GPUs (vLLM: all of them)")
    return ep


def _expert_note(ep: int, gpus: int, engine: str) -> str:
    """What the MoE layers do across the node's GPUs, and what they exchange (vLLM and SGLang without data-parallel
    attention reduce a MoE layer's output with the same all-reduce as a dense layer's, no all-to-all)."""
    exchange = "its output is summed by the same all-reduce as a dense layer's (no all-to-all without " \
               "data-parallel attention)"
    if ep == 1:
        flag = "--enable-expert-parallel" if engine == "vllm" else "--ep-size"
        return f"MoE: each expert sliced over the {gpus} GPUs (tensor parallel, the engine's default), so every " \
               f"GPU does an even share; {exchange}; {flag} (advisor: --expert-parallel) keeps whole experts instead"
    return f"MoE: whole experts in {ep} groups (expert parallel); a step waits for the group its tokens routed " \
           f"most work to (fewer users, more uneven); {exchange}"


def _capacity(est: Estimator, model: ModelSpec, recipe: QuantRecipe, machine: Machine, req: ServeRequest,
              topo: Topology, dev: MachineDevice) -> Capacity:
    d = est.catalog.defaults
    weights = est.weights(model, recipe)
    kv = est.kv(model, Request(context_tokens=req.context_tokens, sequences=1), req.context_tokens)
    memory = dev.device.memory_total_bytes
    if req.engine == "vllm":
        return vllm_capacity(model, weights, kv, memory, d, topo, d.runtime_context_bytes.get("vllm", 0),
                             prefill_budget(d, "vllm", dev.spec.id if dev.spec else None, memory))
    if req.engine == "sglang":
        return sglang_capacity(model, weights, kv, memory, d, topo)
    per_slot = Request(context_tokens=req.context_tokens, sequences=req.users)
    # the model's maximum context bounds each slot (-c / --parallel), not the shared cache: size it uncapped
    uncapped = replace(model, arch=replace(model.arch, max_context_tokens=None))
    longest = est.max_gpu_context(uncapped, weights, machine, per_slot, engine_for("llama.cpp"))
    return slots_capacity(kv, longest, weights.weights_bytes, machine.gpu_usable_bytes)
