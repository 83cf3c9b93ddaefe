"""How long users wait for their first token: an engine's prefill passes and how prompts arrive at them. Pure.

An engine prefills prompts in forward passes of at most its prefill budget (catalog/defaults.yaml
prefill_budget_tokens), each pass taking its tokens at the prefill rate plus a fixed time. Prompts arrive either all at
once (a burst: a benchmark's start; equal lengths keep the users together) or at the users' own pace (the steady state
of advisor.estimate.serving's closed loop). See docs/serving.md, section 2.
"""

from __future__ import annotations

from dataclasses import dataclass

from advisor.specs import Defaults


def prefill_budget(d: Defaults, engine: str, gpu_id: str | None, memory_bytes: int) -> int:
    """Prompt tokens one forward pass of `engine` takes on this GPU: the engine's own figure for the GPU, else the
    tier for its memory (catalog/defaults.yaml prefill_budget_tokens)."""
    own = d.prefill_budget_by_gpu.get(engine, {})
    if gpu_id is not None and gpu_id in own:
        return own[gpu_id]
    tiers = sorted((float(gib), tokens) for gib, tokens in d.prefill_budget_tokens[engine].items())
    return max((t for gib, t in tiers if memory_bytes >= gib * 2**30), default=tiers[0][1])


def graphed_tokens(d: Defaults, engine: str) -> int:
    """The most prompt tokens a pass of `engine` replays as a CUDA graph, paying no per-layer time
    (catalog/defaults.yaml prefill_graphed_tokens; 0: none)."""
    return d.prefill_graphed_tokens.get(engine, 0)


@dataclass(frozen=True, slots=True)
class Prefill:
    """How an engine prefills: compute tokens/s, prompt tokens one forward pass takes, a pass's fixed time (its
    layers' kernel launches), the most tokens a pass can take as a replayed CUDA graph (no launch cost; 0: none), and
    each request's time outside the passes (its way in and out of the engine, added to its wait alone)."""

    tokens_per_s: float
    budget_tokens: int
    forward_s: float
    graphed_tokens: int = 0
    request_s: float = 0.0

    def pass_s(self, tokens: int) -> float:
        """One forward pass of `tokens` prompt tokens."""
        return tokens / self.tokens_per_s + (0.0 if tokens <= self.graphed_tokens else self.forward_s)

    def passes_s(self, tokens: int) -> float:
        """`tokens` prompt tokens in as few passes as the budget allows."""
        full, rest = divmod(tokens, self.budget_tokens)
        return full * self.pass_s(self.budget_tokens) + (self.pass_s(rest) if rest else 0.0)

    def alone_s(self, prompt_tokens: int) -> float:
        """One prompt with the engine to itself, from its request to its first token."""
        return self.passes_s(prompt_tokens) + self.request_s


def wave_firsts(prompt_tokens: int, users: int, pf: Prefill) -> tuple[tuple[float, int], ...]:
    """`users` prompts that arrive together, prefilled in arrival order: (seconds to a user's first token, how many
    users get it then), one pair a pass that finishes prompts; a user's first token comes with the pass that holds the
    end of its prompt."""
    total = users * prompt_tokens
    passes = -(-total // pf.budget_tokens)
    out = []
    before = 0  # prompts finished in earlier passes
    elapsed = 0.0
    for k in range(1, passes + 1):
        elapsed += pf.pass_s(min(total, k * pf.budget_tokens) - (k - 1) * pf.budget_tokens)
        done = min(users, k * pf.budget_tokens // prompt_tokens) if k < passes else users
        if done > before:
            out.append((elapsed + pf.request_s, done - before))
        before = done
    return tuple(out)


def wave(prompt_tokens: int, users: int, pf: Prefill) -> tuple[float, float]:
    """(mean time to first token, the engine's seconds to prefill them all) for `users` prompts that arrive together
    (wave_firsts)."""
    return _mean(wave_firsts(prompt_tokens, users, pf)), pf.passes_s(users * prompt_tokens)


@dataclass(frozen=True, slots=True)
class Round:
    """Users at their own pace, in the steady state: one round holds every user's prompt and reply."""

    seconds: float  # a user's cycle: users x (their prompt's share of the prefill passes) + output x step + the
    # request's own time outside the engine (its user sends nothing meanwhile)
    pass_s: float  # one prefill pass
    ttft_s: float  # a prompt waits for the pass or step in flight, then its own pass (and its request's own time)
    reply_s: float  # its reply's output tokens, the other users' passes in between included


def steady(prompt_tokens: int, users: int, output_tokens: int, step_s: float, pf: Prefill) -> Round:
    """Prompts that arrive while a prefill pass runs wait and share the next one (up to the budget), so a pass's fixed
    time is shared once users send prompts faster than one pass takes: prompts per pass = 1 + the other users'
    prompts that arrive during it, found by a fixed point with the round's length."""
    most = max(1, pf.budget_tokens // prompt_tokens)
    shared = 1.0
    for _ in range(30):
        pass_s = pf.passes_s(round(shared * prompt_tokens))
        seconds = users / shared * pass_s + output_tokens * step_s + pf.request_s
        shared = min(most, 1 + (users - 1) * pass_s / seconds)
    pass_s = pf.passes_s(round(shared * prompt_tokens))
    seconds = users / shared * pass_s + output_tokens * step_s + pf.request_s
    busy = users / shared * pass_s / seconds  # the share of the engine's time in prefill passes
    return Round(seconds, pass_s, pass_s + busy * pass_s / 2 + (1 - busy) * step_s / 2 + pf.request_s,
                 seconds - pass_s - pf.request_s)


def benchmark_ttfts(prompt_tokens: int, users: int, output_tokens: int, step_s: float, pf: Prefill, *,
                    equal_lengths: bool, requests: int | None) -> tuple[tuple[float, int], ...]:
    """Each request's time to first token in a closed-loop benchmark of `requests` prompts at `users` concurrency, as
    (seconds, how many requests): all users start together; with equal lengths they stay together (every round a
    burst), with varied lengths they spread out after the first round (the steady state). Without a published count,
    one round of equal lengths or the steady state alone."""
    burst = wave_firsts(prompt_tokens, users, pf)
    if equal_lengths:
        return burst
    later = steady(prompt_tokens, users, output_tokens, step_s, pf).ttft_s
    if not requests:
        return ((later, 1),)
    if requests <= users:
        return burst
    return (*burst, (later, requests - users))


def benchmark_ttft(prompt_tokens: int, users: int, output_tokens: int, step_s: float, pf: Prefill, *,
                   equal_lengths: bool, requests: int | None, statistic: str = "mean") -> float:
    """The mean or median of benchmark_ttfts: the statistic a benchmark prints."""
    return statistic_of(benchmark_ttfts(prompt_tokens, users, output_tokens, step_s, pf, equal_lengths=equal_lengths,
                                        requests=requests), statistic)


def statistic_of(firsts: tuple[tuple[float, int], ...], statistic: str) -> float:
    """The "mean" or "median" of requests' times given as (seconds, how many requests)."""
    return _median(firsts) if statistic == "median" else _mean(firsts)


def _mean(firsts: tuple[tuple[float, int], ...]) -> float:
    return sum(t * n for t, n in firsts) / sum(n for _, n in firsts)


def _median(firsts: tuple[tuple[float, int], ...]) -> float:
    """The median of the requests' times (the mean of the middle two of an even count)."""
    ordered = sorted(firsts)
    count = sum(n for _, n in ordered)

    def at(index: int) -> float:
        seen = 0
        for t, n in ordered:
            seen += n
            if index < seen:
                return t
        return ordered[-1][0]

    return (at((count - 1) // 2) + at(count // 2)) / 2


def forward_pass_s(layers: int, moe_layers: int, per_layer_s: float, moe_layer_s: float) -> float:
    """A serving engine's prefill forward pass's fixed time, whatever its tokens: each layer's (its kernel launches,
    across GPUs its all-reduce calls), and what each MoE layer adds to that (its router, top-k, token sort and
    grouped expert GEMMs: more kernels than a dense MLP's)."""
    return layers * per_layer_s + moe_layers * moe_layer_s
