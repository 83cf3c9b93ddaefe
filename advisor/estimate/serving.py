"""Serving capacity: how many sequences an engine holds at once, and the throughput curve as users are added. Pure.

One more engine mode of the single-user speed model (advisor.estimate.speed), with no rule of its own for bytes,
cache or constants: the weights and KV per token come from the Estimator, the lane constants from its SpeedTable.

capacity: advisor.estimate.capacity (each engine's KV pool and sequences).
one decode step at batch b (pipeline stages of b/pp sequences, each on tp GPUs):
    memory  = (weights read + b x KV read at depth P + O/2) / (tp x efficiency x bandwidth) + layers x fixed cost
    compute = b x FLOPs per token / (tp x prefill efficiency x FP16 TFLOPS)
    step    = pp x max(memory, compute)/pp-stage + all-reduce (tp > 1) + hop (pp > 1)
closed loop (each user sends the next prompt when the reply ends, as `vllm bench serve --max-concurrency` does): the
engine prefills `budget` prompt tokens per forward pass, a pass taking tokens / prefill tokens/s + its fixed time;
one prompt alone takes S (its passes).
    users at their own pace (steady): prompts that arrive during a prefill pass share the next one, m per pass;
                round = users / m x pass + O x step;  TTFT = pass + the rest of the pass or step in flight
    arrivals together (a burst; a benchmark's start; equal lengths keep them together): the mean over users of the
                passes up to the one holding a prompt's end
    per-user = O / (round - pass)  (others' prompts interleave with a user's decode);  aggregate = users x O / round
Users past the capacity queue for a slot. See docs/serving.md.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from advisor.estimate.allreduce import allreduce_layer_s
from advisor.estimate.arrivals import Prefill, forward_pass_s, steady, wave
from advisor.estimate.capacity import Topology
from advisor.estimate.experts import busiest_assignment_ratio, busiest_touched_share
from advisor.estimate.kv import KvEstimate
from advisor.estimate.speed import Lane, Work, decode_seconds, kv_read_bytes, prefill_tokens_per_s
from advisor.specs.sizes import WeightEstimate

ENGINES = ("vllm", "sglang", "llama.cpp")


@dataclass(frozen=True, slots=True)
class Point:
    """The closed-loop steady state with `users` concurrent users."""

    users: int
    running: int  # sequences decoding together (users past the capacity wait)
    per_user_decode_tokens_per_s: float
    aggregate_decode_tokens_per_s: float
    ttft_s: float | None  # users at their own pace (spread arrivals); None without a prefill speed
    burst_ttft_s: float | None  # the mean when all users' prompts arrive together
    step_s: float
    bound: str  # memory | compute


@dataclass(frozen=True, slots=True)
class Curve:
    points: tuple[Point, ...]
    turn_batch: int | None  # the smallest batch whose decode step is compute-bound; None: never below the cap
    prefill_tokens_per_s: float | None


@dataclass(frozen=True, slots=True)
class Step:
    """What one decode step costs, from the model and one GPU's lane."""

    work: Work  # a token's work at the mean depth
    weights: WeightEstimate
    kv: KvEstimate
    lane: Lane  # one GPU with its engine's constants, share 1
    experts_per_token: int  # MoE: routed experts each token uses, of `experts`
    experts: int
    hidden: int
    topo: Topology
    budget_tokens: int  # prompt tokens one prefill forward pass takes (arrivals.prefill_budget)
    sequence_step_s: float = 0.0  # what each running sequence past the first adds to a step (the engine's per-request
    # work; the first's is in the single-user constants)

    @property
    def forward_s(self) -> float:
        """The fixed time of one prefill forward pass: every layer's and every MoE layer's (forward_pass_s)."""
        return forward_pass_s(self.work.layers, self.work.moe_layers, self.lane.prefill_per_layer_s,
                              self.lane.prefill_moe_layer_s)

    def read_bytes(self, batch: float) -> float:
        """Weights one step streams for `batch` sequences (MoE: the experts any of them routes to; with expert
        parallelism, as many as the busiest GPU's, advisor.estimate.experts) + their KV, over all GPUs."""
        w = self.weights
        weights: float
        if self.experts:
            one = self.experts_per_token / self.experts
            touched = busiest_touched_share(self.experts, self.experts_per_token, batch, self.topo.expert_parallel)
            weights = w.read_per_token_bytes - w.routed_expert_bytes * one + w.routed_expert_bytes * touched
        else:
            weights = float(w.read_per_token_bytes)
        return weights + batch * kv_read_bytes(self.kv, self.work.depth_tokens)

    def expert_flops(self, micro: float) -> int:
        """A token's routed-expert FLOPs as the busiest expert-parallel group sets the pace."""
        ratio = busiest_assignment_ratio(micro * self.experts_per_token, self.topo.expert_parallel)
        return int(self.work.expert_flops_per_token * ratio)

    def seconds(self, batch: int) -> tuple[float, str]:
        """One decode step for `batch` sequences (each gets one token), and what bounds it; each sequence past the
        first adds the engine's per-sequence time."""
        t = self.topo
        micro = batch / t.pipeline_parallel
        share = 1.0 / t.gpus
        mem = decode_seconds(int(self.read_bytes(micro)), self.work.layers,
                             (replace(self.lane, share=share, layer_share=1.0 / t.pipeline_parallel),))
        w, experts = self.work, self.expert_flops(micro)
        per_token = prefill_tokens_per_s(w.flops_per_token - w.expert_flops_per_token + experts,
                                         (replace(self.lane, share=share),), experts, w.attention_flops_per_token,
                                         weight_kind=w.weight_kind)
        comp = micro / per_token if per_token else 0.0
        stage = max(mem, comp) + self._allreduce(micro) + self._hop(micro)
        return t.pipeline_parallel * stage + max(0, batch - 1) * self.sequence_step_s, \
            "compute" if comp > mem else "memory"

    def _allreduce(self, micro: float) -> float:
        """The stage's layers' all-reduces (allreduce_layer_s)."""
        t = self.topo
        if t.tensor_parallel == 1 or t.link_gbps is None:
            return 0.0
        return self.work.layers / t.pipeline_parallel * allreduce_layer_s(t.tensor_parallel, self.hidden, micro,
                                                                          (t.link_gbps, t.link_latency_s))

    def _hop(self, micro: float) -> float:
        """The activations a pipeline stage hands the next node."""
        t = self.topo
        if t.pipeline_parallel == 1 or t.network_gbps is None:
            return 0.0
        return t.network_latency_s + micro * self.hidden * 2 / (t.network_gbps * 1e9)


def curve(step: Step, prompt_work: Work, prompt_tokens: int, output_tokens: int, capacity: int,
          users: tuple[int, ...]) -> Curve:
    """The closed-loop curve at each user count, the batch where decode turns compute-bound, and prefill speed."""
    prefill = prefill_tokens_per_s(prompt_work.flops_per_token, (replace(step.lane, share=1.0 / step.topo.gpus
                                                                         * step.topo.pipeline_parallel),),
                                   prompt_work.expert_flops_per_token,
                                   prompt_work.attention_flops_per_token, weight_kind=prompt_work.weight_kind,
                                   cache_bytes=prompt_work.cache_bytes)
    points = tuple(_point(step, n, prefill, prompt_tokens, output_tokens, capacity) for n in users)
    return Curve(points, turn_batch(step, max(1, capacity)), prefill)


def prefill_of(step: Step, tokens_per_s: float | None) -> Prefill | None:
    lane = step.lane
    return Prefill(tokens_per_s, step.budget_tokens, step.forward_s, lane.prefill_graphed_tokens,
                   lane.prefill_request_s) if tokens_per_s else None


def _point(step: Step, users: int, prefill: float | None, prompt: int, output: int, capacity: int) -> Point:
    running = max(1, min(users, capacity))
    seconds, bound = step.seconds(running)
    pf = prefill_of(step, prefill)
    if pf is None:
        return Point(users, running, 1 / seconds, running / seconds, None, None, seconds, bound)
    r = steady(prompt, running, output, seconds, pf)
    waiting = r.seconds * (users / running - 1)  # users past the capacity wait for a slot
    return Point(users, running, output / r.reply_s, running * output / r.seconds, r.ttft_s + waiting,
                 wave(prompt, running, pf)[0] + waiting, seconds, bound)


def turn_batch(step: Step, cap: int) -> int | None:
    """The smallest batch (up to `cap`) whose decode step is compute-bound."""
    if step.seconds(cap)[1] != "compute":
        return None
    low, high = 1, cap
    while low < high:
        mid = (low + high) // 2
        if step.seconds(mid)[1] == "compute":
            high = mid
        else:
            low = mid + 1
    return low


def user_counts(users: int) -> tuple[int, ...]:
    """1, 2, 4 ... up to `users`, and `users` itself."""
    out = [1]
    while out[-1] * 2 < users:
        out.append(out[-1] * 2)
    if users > 1:
        out.append(users)
    return tuple(out)


def verdict(step: Step, prefill: float | None, prompt: int, output: int, capacity: int, users: int,
            min_tokens_per_s: float, max_ttft_s: float | None) -> int:
    """The largest user count up to `users` (and the capacity) whose per-user speed and TTFT meet the limits; 0 when
    even one user does not. Per-user speed falls and TTFT rises with users, so a bisection finds it."""

    def meets(n: int) -> bool:
        p = _point(step, n, prefill, prompt, output, capacity)
        return p.per_user_decode_tokens_per_s >= min_tokens_per_s and (
            max_ttft_s is None or p.ttft_s is None or p.ttft_s <= max_ttft_s)

    low, high = 0, min(users, capacity)  # meets(low) holds (0 users need nothing); find the last n that meets
    while low < high:
        mid = (low + high + 1) // 2
        if meets(mid):
            low = mid
        else:
            high = mid - 1
    return low
