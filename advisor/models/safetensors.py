"""A safetensors repo's tensor headers -> the language model's exact parameter count and, for files stored already
quantized (MLX), their exact weight bytes per group. Pure.

Vision and audio towers, projectors and FP8 scale tensors are not the language model's parameters (llama.cpp puts
the towers in a separate mmproj file), so they are left out of the count; what they are is told by the tensor names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Final, Protocol

from advisor.specs import Moe
from advisor.specs.sizes import WeightEstimate

_NOT_LANGUAGE: Final = re.compile(
    r"(^|\.)(vision_tower|vision_model|visual|vision|audio_tower|audio_model|audio|multi_modal_projector|"
    r"mm_projector|embed_vision|embed_audio)(\.|$)|(_scale_inv|\.weight_scale|\.input_scale)$")
_EXPERTS: Final = re.compile(r"\.(experts|switch_mlp)\.")
_EMBED: Final = ("embed_tokens.", "wte.", "tok_embeddings.", "word_embeddings.")


class TensorLike(Protocol):
    @property
    def name(self) -> str: ...
    @property
    def n_elements(self) -> int: ...
    @property
    def n_bytes(self) -> int: ...


def language_tensors(tensors: Iterable[TensorLike]) -> list[TensorLike]:
    """The tensors of the language model: towers, projectors and quantization scales left out."""
    return [t for t in tensors if not _NOT_LANGUAGE.search(t.name)]


def language_params(tensors: Iterable[TensorLike]) -> int:
    """Parameters of the language model, counted from its stored (unpacked) tensors."""
    return sum(t.n_elements for t in language_tensors(tensors))


def active_params(tensors: Iterable[TensorLike], moe: Moe) -> int:
    """Parameters one token uses: all but the routed experts, and of those the share a token is routed to."""
    kept = language_tensors(tensors)
    routed = sum(t.n_elements for t in kept if _EXPERTS.search(t.name) and "shared" not in t.name)
    return sum(t.n_elements for t in kept) - routed + round(routed * moe.experts_per_token / moe.experts)


def file_weights(tensors: Iterable[TensorLike], moe: Moe | None, recipe: str, params: int) -> WeightEstimate:
    """Exact weight bytes of stored tensors, grouped like a GGUF's: token embedding, output head, routed experts
    (only the active share is read per token) and the rest. `params` is the model's parameter count (packed
    tensors do not tell it)."""
    groups: dict[str, int] = {}
    for t in language_tensors(tensors):
        name = t.name
        group = ("token_embd" if any(e in name for e in _EMBED) else "output" if "lm_head." in name
                 else "exps" if _EXPERTS.search(name) and "shared" not in name else "other")
        groups[group] = groups.get(group, 0) + t.n_bytes
    routed, embd = groups.get("exps", 0), groups.get("token_embd", 0)
    share = 1.0 if moe is None else moe.experts_per_token / moe.experts
    read = sum(groups.values()) - embd - routed + round(routed * share)
    if "output" not in groups:
        read += embd  # tied: the output projection reads the embedding matrix
    return WeightEstimate(recipe=recipe, weights_bytes=sum(groups.values()), groups_bytes=groups,
                          token_embd_bytes=embd, routed_expert_bytes=routed, read_per_token_bytes=read,
                          params=params)
