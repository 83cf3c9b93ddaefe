"""One model in one file type on one machine: memory, placement, speed. Pure.

Placement follows llama.cpp's --fit order (docs/estimation.md): all on the GPUs; a smaller context when the user
did not pin one; MoE experts of the first N layers to system RAM (--n-cpu-moe N); whole layers to system RAM
(-ngl K); CPU only; otherwise it does not fit (llama.cpp could still page the weights from disk with mmap). Engines
other than llama.cpp (MLX, vLLM) run all on their GPUs or not at all.

An Estimator holds the catalog's facts, the speed constants in force and its own memo of pure results (weights per
model x file type, KV per context): a cache owned by the object that fills it, never by the facts.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cached_property

from advisor.engines import Engine, engine_for, run_backend
from advisor.estimate.constants import SpeedTable
from advisor.estimate.current import is_current
from advisor.estimate.kv import KvEstimate, estimate_kv
from advisor.estimate.lanes import LaneSet, MeasuredIndex, decode_for, lane_shape, lanes, speed_for
from advisor.estimate.machine import Machine
from advisor.estimate.memo import Memo
from advisor.estimate.memory import MemoryEstimate, compute_buffer_bytes, estimate_memory
from advisor.estimate.placement import Placement, place, tensor_split
from advisor.estimate.speed import MeasuredSpeed, SpeedEstimate, Work, experts_per_token, kv_read_bytes, work_for
from advisor.estimate.weights import WeightEstimate, estimate_weights, weight_kind
from advisor.models.params import ParamGroup, param_groups
from advisor.specs import ModelSpec, QuantRecipe, UseScore
from advisor.specs.facts import Catalog

MIN_AUTO_CONTEXT = 4096  # llama.cpp --fit shrinks an unpinned context no further than this
INTERACTIVE_TOKENS_PER_S = 10.0  # below this, chat feels slow (docs/ranking.md)


@dataclass(frozen=True, slots=True)
class Request:
    context_tokens: int = 8192
    depth_tokens: int = 0
    kv_cache_type: str = "F16"
    use: str | None = None  # coding | reasoning | general | vision | long-context (advisor.plan.uses)
    sequences: int = 1  # llama-server --parallel: slots sharing one unified KV cache
    context_pinned: bool = True  # False: the context may shrink to fit on the GPU, as llama.cpp --fit does
    prompt_tokens: int | None = None  # --prompt: prefill and time to first token for a prompt this long
    split_mode: str = "layer"  # llama.cpp -sm over several GPUs: layer (whole layers, in turn) or tensor (all at once)


@dataclass(frozen=True, slots=True)
class Estimate:
    model: ModelSpec
    recipe: QuantRecipe
    context_tokens: int
    weights: WeightEstimate
    kv: KvEstimate
    memory: MemoryEstimate
    placement: Placement
    speed: SpeedEstimate
    notes: tuple[str, ...]
    use_score: UseScore | None = None  # the published score ranking uses (recommend --use)
    max_gpu_context_tokens: int | None = None  # the longest context that still fits all on the GPUs
    sequences: int = 1
    engine: str = "llama.cpp"


@dataclass(frozen=True, slots=True)
class Fitted:
    """The cheap part of an estimate: context, weights, cache and placement, with notes on what changed."""

    context_tokens: int
    weights: WeightEstimate
    kv: KvEstimate
    placement: Placement
    notes: tuple[str, ...]
    room: Room  # what the placement could use (Estimator.room)


@dataclass(frozen=True, slots=True)
class Room:
    """What one placement may use: whether the engine runs here, usable bytes per GPU, per-GPU overhead."""

    engine: str
    cpu_offload: bool
    runs: bool
    gpu_usable: tuple[int, ...]
    gpu_overhead_bytes: int
    buffer_bytes: int
    unified: bool
    ram_usable_bytes: int
    gpu_free_bytes: int  # all GPUs' usable memory less their overhead


class Estimator(Memo):
    """Estimates against one catalog and one set of speed constants, with its own memo of pure results."""

    def __init__(self, catalog: Catalog, speeds: SpeedTable | None = None) -> None:
        super().__init__()
        self.catalog = catalog
        self.speeds = speeds or SpeedTable(catalog.speed_fit, catalog.defaults)

    def groups(self, model: ModelSpec) -> tuple[ParamGroup, ...]:
        """param_groups, once per model."""
        return self.memo(model, ("groups",), lambda: param_groups(model))

    def weights(self, model: ModelSpec, recipe: QuantRecipe) -> WeightEstimate:
        c = self.catalog
        return self.memo(model, ("weights", recipe.name),
                              lambda: estimate_weights(model, recipe, c.types, c.recipes, self.groups(model)))

    def kv(self, model: ModelSpec, request: Request, context: int) -> KvEstimate:
        d = self.catalog.defaults
        return self.memo(model, ("kv", request.kv_cache_type, context, request.sequences),
                              lambda: estimate_kv(model, self.catalog.types[request.kv_cache_type],
                                                  context_tokens=context, sequences=request.sequences,
                                                  ubatch_tokens=d.ubatch_tokens, pad_tokens=d.kv_pad_tokens))

    def work(self, model: ModelSpec, weights: WeightEstimate, kv: KvEstimate, depth_tokens: int,
             kind: str = "quant", absorbed_mla: bool = False) -> Work:
        """work_for, once per model, bytes read, depth, weight kind and MLA form (a KV estimate enters only through
        the bytes it reads; `kind`: estimate.weights.weight_kind of the file, which only prefill reads;
        `absorbed_mla`: the engine's Engine.absorbed_mla)."""
        return self.memo(model, ("work", weights.read_per_token_bytes, kv_read_bytes(kv, depth_tokens), depth_tokens,
                                 kind, absorbed_mla),
                         lambda: work_for(model, weights.read_per_token_bytes, kv, depth_tokens, self.groups(model),
                                          kind, absorbed_mla))

    @cached_property
    def measured(self) -> MeasuredIndex:
        """Published tg128 / pp512 runs at depth 0 by (device, model, file type, device count, backend), the newest
        run of a current build (estimate.current: not one the fit leaves out as older) where several are: an estimate
        is shown beside a run of its own backend only (an MLX run is not what llama.cpp's Metal build does)."""
        index: dict[tuple[str, str, str, int, str], dict[str, MeasuredSpeed]] = {}
        for m in sorted(self.catalog.measurements, key=lambda m: m.date or "", reverse=True):
            if m.depth_tokens == 0 and m.test in ("tg128", "pp512") and m.device != "cpu" \
                    and is_current(m, self.catalog):
                gpu = self.catalog.gpu(m.device)
                backend = run_backend(m.backend, gpu.vendor, gpu.device_class)
                slot = index.setdefault((m.device, m.model, m.quant, m.device_count, backend), {})
                slot.setdefault(m.test, MeasuredSpeed(m.tokens_per_s, m.test, m.source, m.quote, backend, m.date))
        return index

    def estimate(self, model: ModelSpec, recipe: QuantRecipe, machine: Machine, request: Request,
                 weights: WeightEstimate | None = None, fitted: Fitted | None = None) -> Estimate:
        """Memory, placement and speed of one model in one file type on `machine` (exact `weights` if known;
        `fitted`: this very model, file type, machine and request's fitted() result, when the caller has it)."""
        engine = engine_for(recipe.runtime)
        f = fitted or self.fitted(model, recipe, machine, request, weights)
        placement, notes = f.placement, list(f.notes)
        on_gpu = placement.kind in ("gpu", "gpu+cpu") or (placement.kind == "none" and bool(machine.devices))
        memory = estimate_memory(model, f.weights, f.kv, self.catalog.defaults,
                                 backend=_backend(engine, machine) if on_gpu else "cpu",
                                 devices=len(machine.devices) if on_gpu else 0)
        prompt = request.prompt_tokens
        # a prompt's tokens attend to the depth before it and, on average, half the prompt (as the fit prices ppN)
        kind = weight_kind(recipe, self.catalog.types)
        absorbed = engine.absorbed_mla
        prefill = self.work(model, f.weights, f.kv, request.depth_tokens + prompt // 2, kind, absorbed) if prompt \
            else None
        speed = speed_for(model, recipe, self.work(model, f.weights, f.kv, request.depth_tokens, kind, absorbed),
                          placement,
                          self.lanes(model, f, machine, engine), machine=machine, engine=engine, table=self.speeds,
                          measured=lambda: self.measured, notes=notes,
                          prompt=(prompt, prefill) if prompt and prefill else None)
        return Estimate(model, recipe, f.context_tokens, f.weights, f.kv, memory, placement, speed, tuple(notes),
                        None, self._longest(model, f.weights, request, f.room.gpu_free_bytes) if machine.devices
                        else None, request.sequences, engine.name)

    def decode(self, model: ModelSpec, recipe: QuantRecipe, machine: Machine, request: Request,
               fitted: Fitted) -> float | None:
        """Decode tokens/s of a fitted placement alone (lanes.decode_for): cheap, for choosing a file type."""
        engine = engine_for(recipe.runtime)
        return decode_for(self.work(model, fitted.weights, fitted.kv, request.depth_tokens,
                                    absorbed_mla=engine.absorbed_mla), fitted.placement,
                          self.lanes(model, fitted, machine, engine), machine=machine, engine=engine,
                          table=self.speeds)

    def lanes(self, model: ModelSpec, fitted: Fitted, machine: Machine, engine: Engine) -> LaneSet:
        """lanes.lanes of a fitted placement, once per machine, engine, expert count and lane_shape: a lane holds a
        device's bandwidth and constants, not the model's bytes, so models placed alike on one machine share it."""
        if fitted.placement.kind == "none":
            return None
        share = _cpu_read_share(model, fitted.weights, fitted.placement)
        experts = experts_per_token(model)
        split = (model.arch.hidden_size, model.arch.layers) \
            if engine.tensor_parallel or fitted.placement.tensor_split else (0, 0)
        return self.memo(machine, ("lanes", engine.name, experts, split, lane_shape(fitted.placement, share)),
                         lambda: lanes(fitted.placement, machine, engine, self.speeds, experts, share, split))

    def fitted(self, model: ModelSpec, recipe: QuantRecipe, machine: Machine, request: Request,
               known: WeightEstimate | None = None) -> Fitted:
        """Context, weights, cache and placement (the cheap part of an estimate), with notes on what changed.

        It depends on the machine only through what a placement may use (Room), so machines with the same memory
        share it: comparing 150 GPUs places each model once per memory size, not once per card."""
        engine = engine_for(recipe.runtime)
        room = self.room(machine, engine, model)
        if known is not None:
            return self._fit(model, recipe, room, request, engine, known)
        return self.memo(model, ("fitted", recipe.name, request, id(room)),  # rooms are interned (room())
                              lambda: self._fit(model, recipe, room, request, engine, self.weights(model, recipe)))

    def _fit(self, model: ModelSpec, recipe: QuantRecipe, room: Room, request: Request, engine: Engine,
             weights: WeightEstimate) -> Fitted:
        notes: list[str] = []
        context = _capped_context(model, request.context_tokens, notes)
        kv, placement = self._placed(model, weights, room, request, context)
        while (placement.kind != "gpu" and not request.context_pinned and room.gpu_usable
               and weights.weights_bytes < room.gpu_free_bytes  # else no shorter context can fit on the GPUs
               and context // 2 >= max(MIN_AUTO_CONTEXT, request.depth_tokens)):
            smaller_kv, smaller = self._placed(model, weights, room, request, context // 2)
            if smaller.kind != "gpu":
                break
            notes.append(f"context reduced from {context} to {context // 2} tokens to fit on the GPU "
                         "(pass --context to keep it)")
            context, kv, placement = context // 2, smaller_kv, smaller
        if placement.kind == "none":
            notes.append(_none_note(engine))
        elif request.split_mode == "tensor" and engine.name == "llama.cpp":
            placement = tensor_split(placement, notes)
        return Fitted(context, weights, kv, placement, tuple(notes), room)

    def _placed(self, model: ModelSpec, weights: WeightEstimate, room: Room, request: Request,
                context: int) -> tuple[KvEstimate, Placement]:
        kv = self.kv(model, request, context)
        if not room.runs:
            return kv, Placement("none", (), 0, 0.0, f"{room.engine} does not run on this machine's devices")
        experts = model.moe.moe_layers if model.moe and room.cpu_offload else 0
        return kv, place(layer_bytes=weights.weights_bytes + kv.total_bytes,
                         gpu_overhead_bytes=room.gpu_overhead_bytes, cpu_overhead_bytes=room.buffer_bytes,
                         gpu_usable=room.gpu_usable, unified=room.unified, ram_usable=room.ram_usable_bytes,
                         expert_bytes_per_layer=weights.routed_expert_bytes // experts if experts else 0,
                         moe_layers=experts)

    def room(self, machine: Machine, engine: Engine, model: ModelSpec) -> Room:
        """What a placement of `model` under `engine` may use on `machine`: computed once per machine, engine and
        hidden size (the compute buffer's size follows it: models of one hidden size share a room)."""
        d = self.catalog.defaults

        def compute() -> Room:
            buffer = compute_buffer_bytes(model, d)
            runs = engine.cpu_offload or bool(machine.devices and all(
                engine.backend(x.device.vendor, x.speed_class) for x in machine.devices))
            overhead = d.runtime_context_bytes.get(_backend(engine, machine), 0) + buffer
            usable = tuple(x.memory_usable_bytes for x in machine.devices)
            room = Room(engine.name, engine.cpu_offload, runs, usable, overhead, buffer,
                        machine.unified or not engine.cpu_offload,
                        machine.ram_usable_bytes if engine.cpu_offload else 0,
                        sum(max(0, u - overhead) for u in usable))
            return self.shared(("room", room), lambda: room)  # one object per distinct room: memo keys use its id

        return self.memo(machine, ("room", engine.name, model.arch.hidden_size), compute)  # the buffer's only input

    def max_gpu_context(self, model: ModelSpec, weights: WeightEstimate, machine: Machine, request: Request,
                        engine: Engine | None = None) -> int | None:
        """The longest context (256-token steps, up to the model's maximum) that keeps everything on the GPUs.

        Memory beyond the weights grows by the full-attention layers' bytes per token; windowed layers and recurrent
        state are charged at their largest size.
        """
        if not machine.devices:
            return None
        return self._longest(model, weights, request,
                             self.room(machine, engine or engine_for("llama.cpp"), model).gpu_free_bytes)

    def _longest(self, model: ModelSpec, weights: WeightEstimate, request: Request, room: int) -> int | None:
        """max_gpu_context for `room` bytes free on the GPUs, once per model, weights, cache type and room."""
        return self.memo(model, ("max-gpu-context", weights.weights_bytes, request.kv_cache_type, request.sequences,
                                 room), lambda: self._max_gpu_context(model, weights, request, room))

    def _max_gpu_context(self, model: ModelSpec, weights: WeightEstimate, request: Request, room: int) -> int | None:
        d = self.catalog.defaults
        cap = model.arch.max_context_tokens or 1_048_576
        largest = self.kv(model, request, cap)
        fixed = weights.weights_bytes + largest.recurrent_state_bytes + largest.kv_cache_bytes \
            - largest.growth_bytes_per_token * -(-cap // d.kv_pad_tokens) * d.kv_pad_tokens
        if largest.growth_bytes_per_token == 0:
            return cap if fixed <= room else None
        tokens = (room - fixed) // largest.growth_bytes_per_token // d.kv_pad_tokens * d.kv_pad_tokens
        return min(cap, int(tokens)) if tokens >= d.kv_pad_tokens else None


def _backend(engine: Engine, machine: Machine) -> str:
    """The engine's backend on the machine's first GPU ('cpu' without one): it picks the runtime's own overhead."""
    if not machine.devices:
        return "cpu"
    first = machine.devices[0]
    return engine.backend(first.device.vendor, first.speed_class) or first.backend


def _capped_context(model: ModelSpec, context: int, notes: list[str]) -> int:
    limit = model.arch.max_context_tokens
    if limit is not None and context > limit:
        notes.append(f"context capped at the model's maximum, {limit} tokens")
        return limit
    if limit is None:
        notes.append("the model's maximum context is not in the catalog; not checked")
    return context


def _cpu_read_share(model: ModelSpec, weights: WeightEstimate, placement: Placement) -> float | None:
    """With --n-cpu-moe, the share of the bytes read per token that the CPU streams (its layers' active experts)."""
    if not placement.n_cpu_moe or model.moe is None:
        return None
    active = model.moe.experts_per_token / model.moe.experts
    cpu_read = placement.n_cpu_moe / model.moe.moe_layers * weights.routed_expert_bytes * active
    return cpu_read / weights.read_per_token_bytes


def _none_note(engine: Engine) -> str:
    if engine.cpu_offload:
        return ("does not fit in GPU memory and RAM together; llama.cpp could still page the weights from disk "
                "(mmap), at a small fraction of a token per second")
    return f"{engine.name} runs all on the GPU: it does not fit in this machine's GPU memory, or does not run on it"
