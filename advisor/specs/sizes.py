"""Sized results shared by the model readers and the estimator. Frozen, bytes as ints. Pure."""

from __future__ import annotations

from dataclasses import dataclass


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
