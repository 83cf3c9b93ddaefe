"""How routed experts share the work: the busiest GPU when whole experts are spread over GPUs (expert
parallelism), and how efficiently an expert's matmuls run on the tokens of a prefill pass it gets. Pure.

With expert parallelism (vLLM --enable-expert-parallel, SGLang --ep-size) each of `ranks` GPU groups holds E / ranks
whole experts, and a MoE layer waits for the group that got the most work. Sliced experts (tensor parallelism, the
engines' default) give every GPU 1/tp of every expert, so the load is even by construction.

decode bytes: a step of b tokens touches each expert with p = 1 - (1 - k / E)^b (k routed experts a token); a group
              touches Binomial(E / ranks, p) of its experts; the step waits for the expected largest of `ranks`
              such counts (taken as independent), against the mean E / ranks x p of an even split.
compute:      b x k expert assignments fall on the groups as Binomial(b x k, 1 / ranks) each; the busiest group's
              expected share, against the mean.
A count whose spread is wide enough (variance >= NORMAL_VARIANCE) uses the normal approximation of the largest of
`ranks` draws (Blom's expected normal order statistic); smaller counts are summed exactly.
"""

from __future__ import annotations

import math

NORMAL_VARIANCE = 25.0


def expected_max_binomial(trials: int, p: float, ranks: int) -> float:
    """The expected largest of `ranks` independent Binomial(trials, p) counts."""
    if ranks <= 1 or trials <= 0 or p <= 0.0:
        return trials * p
    if p >= 1.0:
        return float(trials)
    mean, variance = trials * p, trials * p * (1 - p)
    if variance >= NORMAL_VARIANCE:
        from statistics import NormalDist  # lazily: statistics pulls in fractions and decimal (start-up)

        z = NormalDist().inv_cdf((ranks - 0.375) / (ranks + 0.25))
        return min(float(trials), mean + z * math.sqrt(variance))
    # E[max] = sum over j of P(max > j) = sum (1 - F(j)^ranks)
    pmf = (1 - p) ** trials
    cdf, total = 0.0, 0.0
    for j in range(trials):
        cdf += pmf
        total += 1.0 - min(1.0, cdf) ** ranks
        pmf *= (trials - j) / (j + 1) * p / (1 - p)
    return total


def busiest_touched_share(experts: int, experts_per_token: int, batch: float, ranks: int) -> float:
    """The share of all routed experts that sets a step's expert bytes per GPU: `ranks` x the experts the busiest
    group touches, over E (with one group, or sliced experts, the share any of the batch's tokens touches)."""
    one = experts_per_token / experts
    p = 1.0 - float((1.0 - one) ** batch)
    per_group = experts // max(1, ranks)
    return expected_max_binomial(per_group, p, ranks) * ranks / experts


def busiest_assignment_ratio(assignments: float, ranks: int) -> float:
    """The busiest group's expert work over the mean group's, for `assignments` (tokens x k) routed evenly."""
    n = round(assignments)
    if ranks <= 1 or n <= 0:
        return 1.0
    return expected_max_binomial(n, 1.0 / ranks, ranks) / (n / ranks)


# the expert ratio is stated at this many tokens per expert in a pass (a 512-token pass of a top-8-of-128 model)
REFERENCE_EXPERT_TOKENS = 32


def expert_batch_scale(expert_tokens: float, batch_tokens: float) -> float:
    """How much more efficiently an expert's matmuls run with `expert_tokens` tokens of a pass than with
    REFERENCE_EXPERT_TOKENS, when each tile costs a fixed part plus a part per token (the two equal at
    `batch_tokens` tokens): the efficiency n / (n + batch_tokens), relative to the reference's."""
    ref = REFERENCE_EXPERT_TOKENS
    return (expert_tokens / (expert_tokens + batch_tokens)) / (ref / (ref + batch_tokens))
