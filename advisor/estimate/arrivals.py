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


@dataclass(frozen=True, slots=True)
class Prefill:
    """How an engine prefills: compute tokens/s, prompt tokens one forward pass takes, and a pass's fixed time."""

    tokens_per_s: float
    budget_tokens: int
    forward_s: float

    def alone_s(self, prompt_tokens: int) -> float:
        """One prompt with the engine to itself."""
        return prompt_tokens / self.tokens_per_s + -(-prompt_tokens // self.budget_tokens) * self.forward_s


def wave(prompt_tokens: int, users: int, pf: Prefill) -> tuple[float, float]:
    """(mean time to first token, seconds to prefill them all) for `users` prompts that arrive together and are
    prefilled in arrival order: a user's first token comes with the pass that holds the end of its prompt."""
    total = users * prompt_tokens
    passes = -(-total // pf.budget_tokens)
    waited = 0.0
    before = 0  # prompts finished in earlier passes
    for k in range(1, passes + 1):
        done = min(users, k * pf.budget_tokens // prompt_tokens) if k < passes else users
        waited += (done - before) * (min(total, k * pf.budget_tokens) / pf.tokens_per_s + k * pf.forward_s)
        before = done
    return waited / users, total / pf.tokens_per_s + passes * pf.forward_s


@dataclass(frozen=True, slots=True)
class Round:
    """Users at their own pace, in the steady state: one round holds every user's prompt and reply."""

    seconds: float  # users x (their prompt's share of the prefill passes) + output x step
    pass_s: float  # one prefill pass
    ttft_s: float  # a prompt waits for the pass or step in flight, then its own pass


def steady(prompt_tokens: int, users: int, output_tokens: int, step_s: float, pf: Prefill) -> Round:
    """Prompts that arrive while a prefill pass runs wait and share the next one (up to the budget), so a pass's fixed
    time is shared once users send prompts faster than one pass takes: prompts per pass = 1 + the other users'
    prompts that arrive during it, found by a fixed point with the round's length."""
    compute = prompt_tokens / pf.tokens_per_s
    fixed = -(-prompt_tokens // pf.budget_tokens) * pf.forward_s
    most = max(1, pf.budget_tokens // prompt_tokens)
    shared = 1.0
    for _ in range(30):
        pass_s = fixed + shared * compute
        seconds = users / shared * pass_s + output_tokens * step_s
        shared = min(most, 1 + (users - 1) * pass_s / seconds)
    pass_s = fixed + shared * compute
    seconds = users / shared * pass_s + output_tokens * step_s
    busy = users / shared * pass_s / seconds  # the share of the engine's time in prefill passes
    return Round(seconds, pass_s, pass_s + busy * pass_s / 2 + (1 - busy) * step_s / 2)


def benchmark_ttft(prompt_tokens: int, users: int, output_tokens: int, step_s: float, pf: Prefill, *,
                   equal_lengths: bool, requests: int | None) -> float:
    """Mean TTFT of a closed-loop benchmark of `requests` prompts at `users` concurrency: all users start together;
    with equal lengths they stay together, with varied lengths they spread out after the first round."""
    burst = wave(prompt_tokens, users, pf)[0]
    if equal_lengths:
        return burst
    later = steady(prompt_tokens, users, output_tokens, step_s, pf).ttft_s
    if not requests or requests <= users:
        return burst if requests else later
    return (users * burst + (requests - users) * later) / requests
