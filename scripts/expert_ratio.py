"""What the routed experts' prefill ratio is, run by run, against each device's own dense runs (a diagnostic).

Usage: python scripts/expert_ratio.py [BACKEND ...]

For every MoE prefill run (a GPU, one lane, less than 4096 tokens of context) whose device has dense prefill runs on
the same backend, the device's efficiency is the median of what its dense runs imply, and the experts' ratio is the
one at which the shipped formula (advisor.speed.cases.predict, no tile term) gives the measured rate. The formula's
time per token is a + b / ratio, so two predictions give a and b. Prints the ratio with the tokens each expert gets
in a pass and the expert's shape (hidden x expert width): the question the tile term answers, asked of every backend.
"""

from __future__ import annotations

import statistics
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.catalog.load import load_catalog  # noqa: E402
from advisor.specs import Defaults  # noqa: E402
from advisor.specs.facts import Catalog  # noqa: E402
from advisor.speed.cases import Case, cases, expert_tokens, fit_table, predict  # noqa: E402
from advisor.speed.prefill_fit import DEEP_TOKENS  # noqa: E402

Shipped = tuple[Defaults, dict[str, float]]  # the defaults and the shipped attention ratios per backend


def _seconds(c: Case, efficiency: float, ratio: float, shipped: Shipped) -> float:
    table = fit_table(shipped[0], prefill={c.prefill_key: efficiency}, ratio=(ratio, {}), attention=shipped[1])
    return 1.0 / (predict(table, c) or float("inf"))


def dense_efficiency(rows: list[Case], shipped: Shipped) -> dict[tuple[str, str], float]:
    """Per device and backend, the median efficiency its dense runs imply."""
    implied: dict[tuple[str, str], list[float]] = {}
    for c in rows:
        if not c.moe:
            implied.setdefault((c.group, c.backend), []).append(_seconds(c, 1.0, 1.0, shipped) * c.m.tokens_per_s)
    return {key: statistics.median(values) for key, values in implied.items()}


def implied_ratio(c: Case, efficiency: float, shipped: Shipped) -> float | None:
    """The experts' ratio at which the formula gives the measured rate (None: the rest alone is slower)."""
    at_one, at_half = _seconds(c, efficiency, 1.0, shipped), _seconds(c, efficiency, 0.5, shipped)
    per_ratio = at_half - at_one  # b: the experts' time at a ratio of 1
    left = 1.0 / c.m.tokens_per_s - (at_one - per_ratio)
    return per_ratio / left if left > 0 else None


def main(catalog: Catalog, backends: list[str]) -> None:
    shipped = (catalog.defaults, catalog.speed_fit.attention_prefill_ratio_by_backend if catalog.speed_fit else {})
    rows = [c for c in cases(catalog)[0] if c.m.kind == "prefill" and c.tflops and c.tensor_parallel == 1
            and c.backend != "cpu" and c.work.depth_tokens < DEEP_TOKENS and (not backends or c.backend in backends)]
    own = dense_efficiency(rows, shipped)
    print("backend  device               model                  quant        tokens/expert  hidden x width  ratio")
    for c in sorted((c for c in rows if c.moe and (c.group, c.backend) in own),
                    key=lambda c: (c.backend, c.group, expert_tokens(c) or 0, c.m.model)):
        ratio = implied_ratio(c, own[(c.group, c.backend)], shipped)
        moe = catalog.model(c.m.model).moe
        shape = f"{catalog.model(c.m.model).arch.hidden_size} x {moe.expert_ffn if moe else '?'}"
        shown = f"{ratio:.2f}" if ratio is not None else "-"
        print(f"{c.backend:8} {c.group[:20]:20} {c.m.model[:22]:22} {c.m.quant[:12]:12} "
              f"{expert_tokens(c) or 0:13.0f}  {shape:>14}  {shown:>5}  ({c.m.date or '?'}, {c.m.test})")


if __name__ == "__main__":
    main(load_catalog(ROOT / "catalog"), sys.argv[1:])
