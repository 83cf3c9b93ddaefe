"""Sized results shared by the model readers and the estimator. Frozen, bytes as ints. Pure."""

from __future__ import annotations

from dataclasses import dataclass

from advisor.specs import QuantRecipe, Runtime


@dataclass(frozen=True, slots=True)
class WeightEstimate:
    """Bytes of a model's weights in one file type, with the per-group breakdown."""

    recipe: str
    weights_bytes: int
    groups_bytes: dict[str, int]
    token_embd_bytes: int
    routed_expert_bytes: int
    read_per_token_bytes: int  # bytes a decode step streams: all but token_embd, active experts only
    params: int

    @property
    def bits_per_weight(self) -> float:
        return self.weights_bytes * 8 / max(1, self.params)


def stand_in_recipe(name: str, runtime: Runtime, source: str, weights: WeightEstimate | None) -> QuantRecipe:
    """A recipe for a file type the catalog does not know, whose own tensors give its weights (`weights`; None where
    no file was read): its base type tells the prefill kernels' weight kind (estimate.weights.weight_kind), F16 where
    the file holds 16 bits a weight or more (or none was read), else Q8_0 (a block-quantized type)."""
    base = "F16" if weights is None or weights.bits_per_weight >= 15.5 else "Q8_0"
    return QuantRecipe(name=name, base=base, rules=(), runtime=runtime, quality_rank=50, source=source,
                       recommend=False)
