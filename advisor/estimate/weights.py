"""Weight bytes per parameter group and file type, following llama.cpp's quantization recipes.

Parameter groups are computed from the config dims (embeddings, attention, FFN, experts); what the
published total holds beyond them (linear-attention and Mamba projections, norms) is charged at the
recipe's base type. See docs/estimation.md.
"""

from __future__ import annotations

from functools import lru_cache

from advisor.models.params import ParamGroup, param_groups
from advisor.specs import ModelSpec, QuantRecipe, QuantType
from advisor.specs.sizes import WeightEstimate

__all__ = ["LOOKED_UP", "WeightEstimate", "estimate_weights", "layers_matching", "weight_kind"]

# token tables read a row per token, not whole: a decode step does not stream them
LOOKED_UP = frozenset({"token_embd", "per_layer_token_embd"})


def weight_kind(recipe: QuantRecipe, types: dict[str, QuantType]) -> str:
    """What a file's matmul weights are, for the prefill kernels that multiply them: "mxfp4" (its routed experts are
    MXFP4: gpt-oss's files), "float" (every type it uses stores each weight alone in two bytes or more: BF16, F16,
    F32), else "quant" (block-quantized: the k-quants, Q8_0, i-quants, MLX's; FP8)."""
    if recipe.base == "MXFP4" or any(r.category == "experts" and r.type == "MXFP4" for r in recipe.rules):
        return "mxfp4"
    used = (recipe.base, *(r.type for r in recipe.rules))
    wide = all(types[t].block_size == 1 and types[t].block_bytes >= 2 for t in used)
    return "float" if wide else "quant"


@lru_cache(maxsize=4096)
def layers_matching(rule: str, n: int) -> frozenset[int]:
    """Layer indices a recipe rule covers, as llama.cpp counts them (integer division)."""
    if rule == "all":
        return frozenset(range(n))
    if rule == "more_bits":
        return frozenset(i for i in range(n) if i < n // 8 or i >= 7 * n // 8 or (i - n // 8) % 3 == 2)
    if rule == "middle":  # llama.cpp's IQ3_XS ffn_gate/ffn_up rule: n/8 <= i < 7n/8
        return frozenset(range(n // 8, 7 * n // 8))
    if rule == "first_eighth":
        return frozenset(range(n // 8))
    if rule == "first_sixteenth":
        return frozenset(range(n // 16))
    return frozenset(range(min(n, int(rule.removeprefix("first_")))))


def _group_bytes(group: ParamGroup, recipe: QuantRecipe, types: dict[str, QuantType]) -> int:
    if "norm" in group.categories:
        return group.params * 4  # routers and norms stay F32 in llama.cpp GGUFs
    rules = [rule for rule in recipe.rules if rule.category in group.categories]
    if not rules:  # most groups: every layer at the base type
        return group.layers * _tensor_bytes(group, recipe.base, types)
    left = set(range(group.layers))
    total = 0
    for rule in rules:
        if not left:
            break
        hit = left & layers_matching(rule.layers, group.layers)
        total += len(hit) * _tensor_bytes(group, rule.type, types)
        left -= hit
    return total + len(left) * _tensor_bytes(group, recipe.base, types)


def _tensor_bytes(group: ParamGroup, type_name: str, types: dict[str, QuantType]) -> int:
    qtype = types[type_name]
    while group.row_length % qtype.block_size and qtype.fallback:
        qtype = types[qtype.fallback]
    if group.row_length % qtype.block_size:
        qtype = types["F16"]
    return qtype.tensor_bytes(group.params_per_layer)


def estimate_weights(model: ModelSpec, recipe: QuantRecipe, types: dict[str, QuantType],
                     recipes: dict[str, QuantRecipe] | None = None,
                     groups: tuple[ParamGroup, ...] | None = None) -> WeightEstimate:
    """Weight bytes of `model` in file type `recipe` (a scaled recipe needs the `recipes` it refers to; `groups`
    are param_groups(model) when the caller already has them)."""
    if recipe.scale_of is not None:
        if recipes is None or recipe.scale_of not in recipes:
            msg = f"{recipe.name} is sized from {recipe.scale_of}, which is not among the recipes given"
            raise ValueError(msg)
        base = estimate_weights(model, recipes[recipe.scale_of], types, groups=groups)
        return _scaled(base, recipe.name,
                       recipe.scale_moe if model.moe is not None and recipe.scale_moe else recipe.scale)
    groups = groups or param_groups(model)
    by_group = {g.name: _group_bytes(g, recipe, types) for g in groups}
    routed = sum(by_group[g.name] for g in groups if g.routed)
    active = 1.0 if model.moe is None else model.moe.experts_per_token / model.moe.experts
    embd = by_group["token_embd"]
    read = sum(b for name, b in by_group.items() if name not in LOOKED_UP) - routed + round(routed * active)
    if model.arch.tied_embeddings:
        read += embd  # the output projection reads the tied embedding matrix every token
    return WeightEstimate(recipe=recipe.name, weights_bytes=sum(by_group.values()), groups_bytes=by_group,
                          token_embd_bytes=embd, routed_expert_bytes=routed, read_per_token_bytes=read,
                          params=sum(g.params for g in groups))


def resized(weights: WeightEstimate, weights_bytes: int) -> WeightEstimate:
    """The same file type's breakdown scaled to a file whose size is known (a published run's own file)."""
    return _scaled(weights, weights.recipe, weights_bytes / weights.weights_bytes)


def _scaled(base: WeightEstimate, name: str, k: float) -> WeightEstimate:
    return WeightEstimate(recipe=name, weights_bytes=round(base.weights_bytes * k),
                          groups_bytes={g: round(b * k) for g, b in base.groups_bytes.items()},
                          token_embd_bytes=round(base.token_embd_bytes * k),
                          routed_expert_bytes=round(base.routed_expert_bytes * k),
                          read_per_token_bytes=round(base.read_per_token_bytes * k), params=base.params)
