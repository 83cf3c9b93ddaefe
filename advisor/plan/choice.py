"""The file type a person should use for one model on one machine (docs/ranking.md): the candidates each engine
offers here, the placement tier each reaches, and the best quality above the comfort speed. Pure."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import replace
from functools import partial

from advisor.engines import ENGINES, engine_for
from advisor.errors import UsageError
from advisor.estimate.estimator import INTERACTIVE_TOKENS_PER_S, Estimate, Estimator, Fitted, Request
from advisor.estimate.machine import Machine
from advisor.plan.uses import use_score
from advisor.specs import ModelSpec, QuantRecipe

MIN_USABLE_TOKENS_PER_S = 5.0  # default usable floor for decode speed (recommend --min-tps; docs/ranking.md)


def engines_here(machine: Machine) -> frozenset[str]:
    """Runtimes of the engines that run on every GPU of `machine` (llama.cpp always: it also runs on the CPU)."""
    return frozenset(e.runtime for e in ENGINES if e.cpu_offload or (machine.devices and all(
        e.backend(d.device.vendor, d.speed_class) for d in machine.devices)))


def candidate_recipes(model: ModelSpec, est: Estimator, machine: Machine) -> tuple[QuantRecipe, ...]:
    """File types considered for `model`: its native format if it ships one, else the common GGUF mixes and, on
    Apple GPUs, MLX files (vLLM's are offered as an alternative command, advisor.plan.commands)."""
    if model.native_quant:
        return (est.catalog.recipe(model.native_quant),)
    def candidates() -> tuple[QuantRecipe, ...]:
        runtimes = engines_here(machine) - {"vllm"}  # vLLM serves many users; for one person it is an alternative
        return est.shared(("candidates", runtimes), lambda: _candidates(est, runtimes))

    return est.memo(machine, ("candidates",), candidates)


def _candidates(est: Estimator, runtimes: frozenset[str]) -> tuple[QuantRecipe, ...]:
    """The file types the catalog recommends (GGUF, and MLX where it runs); highest quality first."""
    return tuple(sorted((r for r in est.catalog.recipes.values() if r.runtime in runtimes and r.recommend),
                        key=lambda r: -r.quality_rank))


def estimate_recipes(model: ModelSpec, machine: Machine, est: Estimator,
                     quant: str | None = None) -> tuple[QuantRecipe, ...]:
    """File types `advisor estimate` shows: the one asked for, else every one that applies here."""
    catalog = est.catalog
    if model.native_quant:
        native = catalog.recipe(model.native_quant)
        if quant is not None and catalog.recipe(quant) is not native:
            msg = (f"{model.name} is published as {native.name}; other file types are not sized for it "
                   f"(use --quant {native.name} or leave --quant out)")
            raise UsageError(msg)
        return (native,)
    if quant is not None:
        return (catalog.recipe(quant),)
    runtimes = engines_here(machine)
    return tuple(sorted((r for r in catalog.recipes.values() if r.runtime in runtimes and r.listed
                         and (model.is_moe or not any(rule.category == "experts" for rule in r.rules))),
                        key=lambda r: -r.quality_rank))


def _choice_key(model: ModelSpec, recipe: QuantRecipe, kind: str, est: Estimator) -> tuple[int, int]:
    """Lower is better: full GPU at Q3_K_M or better, then offload at Q4_K_M or below, then the rest."""
    q3, q4 = est.shared(("q3-q4",), lambda: (est.catalog.recipe("Q3_K_M").quality_rank,
                                              est.catalog.recipe("Q4_K_M").quality_rank))
    rank, native = recipe.quality_rank, model.native_quant is not None
    if kind == "gpu":
        tier = 0 if rank >= q3 or native else 2
    elif kind == "gpu+cpu":
        tier = 1 if native or q3 <= rank <= q4 else 3
    elif kind == "cpu":
        tier = 4 if rank <= q4 or native else 5
    else:
        tier = 9
    return tier, -rank if tier != 9 else rank


def best_estimate(model: ModelSpec, machine: Machine, est: Estimator, request: Request,
                  quant: str | None = None) -> Estimate:
    """The file type and placement a person with this machine should use for `model` (docs/ranking.md).

    Placements are cheap and decide the tier: the first placement tier any file type reaches. Within it, the
    highest-quality file type that decodes at INTERACTIVE_TOKENS_PER_S or more; if none does, the highest-quality one
    that still decodes at MIN_USABLE_TOKENS_PER_S; if none does, the fastest of the tier. Speed is estimated for
    those candidates only, best quality first, stopping at the first comfortable one.
    `quant` (recommend --quant) fixes the file type where the model can use it; a model that cannot keeps its own
    choice and says so in its notes.
    """
    note: str | None = None
    candidates = candidate_recipes(model, est, machine)  # highest quality first
    if quant is not None:
        fixed = est.catalog.recipe(quant)
        if fixed in candidates or (not model.native_quant and _usable_recipe(model, fixed, machine)):
            candidates = (fixed,)
        else:
            note = (f"--quant {fixed.name} does not apply: {model.name} is published as {model.native_quant}"
                    if model.native_quant else f"--quant {fixed.name} does not apply to {model.name} here")
            note += f"; {'its own format' if model.native_quant else 'the usual choice'} is shown"
    chosen = _best_of(model, machine, est, request, candidates)
    if quant is None:
        chosen = hosted_sibling(chosen, machine, est, request)
    if note is not None:
        chosen = replace(chosen, notes=(*chosen.notes, note))
    return replace(chosen, use_score=use_score(model, request.use)) if request.use else chosen


def hosted_sibling(chosen: Estimate, machine: Machine, est: Estimator, request: Request) -> Estimate:
    """Where no catalogued repository hosts the chosen file type for this model but one hosts a file type sized as
    its variant (a recipe whose scale_of is the chosen one: Unsloth's UD-Q4_K_XL for Q4_K_M), that file type, if it
    places the same way and decodes in the same band (comfortable, usable): so that the command runs a real file.
    Otherwise the choice as it was."""
    model, recipe = chosen.model, chosen.recipe
    if model.native_quant or chosen.weights is not est.weights(model, recipe):  # a file's own weights: as chosen
        return chosen
    siblings = est.memo(model, ("hosted-siblings", recipe.name), lambda: _hosted_siblings(model, recipe, est))
    for sibling in (r for r in siblings if _usable_recipe(model, r, machine)):
        fitted = est.fitted(model, sibling, machine, request)  # placement and decode first: both cheap
        if fitted.placement.kind != chosen.placement.kind or _band(
                est.decode(model, sibling, machine, request, fitted)) < _band(chosen.speed.decode_tokens_per_s):
            continue
        found = est.estimate(model, sibling, machine, request, fitted=fitted)
        note = (f"{sibling.name} shown: no catalogued repository hosts {model.name} in {recipe.name}, and "
                f"{sibling.name} is its hosted variant of the same size class")
        return replace(found, notes=(*found.notes, note))
    return chosen


def _hosted_siblings(model: ModelSpec, recipe: QuantRecipe, est: Estimator) -> tuple[QuantRecipe, ...]:
    """Nothing where a catalogued repository hosts `model` in `recipe`; else the hosted file types sized as its variant
    (once per model and file type: the same on every machine)."""
    from advisor.plan.commands import hosting_repo

    if hosting_repo(model, recipe.name, est, est.weights(model, recipe)):
        return ()
    hosted = {f.quant.upper() for f in model.gguf_files}
    return tuple(r for r in est.catalog.recipes.values() if r.scale_of == recipe.name and r.name.upper() in hosted
                 and hosting_repo(model, r.name, est, est.weights(model, r)))


def _band(decode_tokens_per_s: float | None) -> int:
    """2: decodes comfortably, 1: usably, 0: slower or not known."""
    speed = decode_tokens_per_s or 0.0
    return 2 if speed >= INTERACTIVE_TOKENS_PER_S else 1 if speed >= MIN_USABLE_TOKENS_PER_S else 0


def _usable_recipe(model: ModelSpec, recipe: QuantRecipe, machine: Machine) -> bool:
    """Whether `model` can be run at `recipe` on `machine`: its engine runs here, and expert-only rules need a MoE."""
    return recipe.runtime in engines_here(machine) and (
        model.is_moe or not any(rule.category == "experts" for rule in recipe.rules))


def _best_of(model: ModelSpec, machine: Machine, est: Estimator, request: Request,
             candidates: tuple[QuantRecipe, ...]) -> Estimate:
    floor = 0 if machine.devices else 4  # the best tier this machine can reach (CPU only: 4)
    q4 = est.shared(("q4",), lambda: est.catalog.recipe("Q4_K_M").quality_rank)
    if not machine.devices:  # CPU only: above Q4_K_M is tier 5 at best, and a smaller file fits whenever it does
        given = candidates  # the same tuple for every model of a machine: sorted once, so the ladder's memo hits
        candidates = est.memo(given, ("cpu-order",), lambda: tuple(sorted(given, key=lambda r: r.quality_rank > q4)))
    fits: list[tuple[tuple[int, int], QuantRecipe, Fitted]] = []
    seen_floor = False
    ladder = _ladder(model, machine, est, request, candidates)
    for i, recipe in enumerate(candidates):  # highest quality first (CPU only: Q4_K_M and below first)
        if not machine.devices and recipe.quality_rank > q4 and any(x[0][0] == floor for x in fits):
            break
        key, fitted = ladder.step(i, recipe, partial(est.fitted, model, recipe, machine, request))
        fits.append((key, recipe, fitted))
        # the first comfortable file type of the best tier is the best-quality one: candidates come best first
        if key[0] == floor:  # the tier's first file type usually wins: its full estimate now, the others' decode
            winner = _comfortable(est, model, recipe, machine, request, fitted, first=not seen_floor)
            if winner is not None:
                return winner
            seen_floor = True
    tier = min(key[0] for key, _, _ in fits)
    in_tier = sorted((x for x in fits if x[0][0] == tier), key=lambda x: x[0])  # highest quality first
    if tier == 9:  # nothing fits: the smallest file type's need, no speed
        return ladder.nothing(in_tier[0][1], machine, partial(est.estimate, model, in_tier[0][1], machine, request,
                                                               fitted=in_tier[0][2]))
    tried = [(est.decode(model, r, machine, request, f), r, f) for _, r, f in in_tier]
    comfortable = [x for x in tried if (x[0] or 0.0) >= INTERACTIVE_TOKENS_PER_S]
    usable = [x for x in tried if (x[0] or 0.0) >= MIN_USABLE_TOKENS_PER_S]
    if comfortable:
        chosen = comfortable[0]
    elif all(x[0] is None for x in tried):
        chosen = tried[0]  # no speed known: the best quality of the tier
    elif usable:  # none comfortable: the best quality still usable, not the smallest file (2-bit loses much)
        chosen = usable[0]
    else:
        chosen = max(tried, key=lambda x: x[0] or -1.0)  # first (best quality) on a tie
    return est.estimate(model, chosen[1], machine, request, fitted=chosen[2])


class _Ladder:
    """Each candidate file type's placement tier and fit, in candidate order, computed when first reached. Machines
    that give a placement the same room (Estimator.room: the same usable memory under the same engines) share one
    ladder: comparing 166 GPUs walks it once per memory size, as Estimator.fitted places a model once per room."""

    def __init__(self, model: ModelSpec, est: Estimator) -> None:
        self.model, self.est = model, est
        self.steps: list[tuple[tuple[int, int], Fitted]] = []
        self.unplaced: dict[tuple[object, ...], Estimate] = {}

    def step(self, i: int, recipe: QuantRecipe, fit: Callable[[], Fitted]) -> tuple[tuple[int, int], Fitted]:
        """The i-th candidate's (tier key, fit); candidates are reached in order, so only i == len(steps) is new."""
        if i == len(self.steps):
            fitted = fit()
            self.steps.append((_choice_key(self.model, recipe, fitted.placement.kind, self.est), fitted))
        return self.steps[i]


    def nothing(self, recipe: QuantRecipe, machine: Machine, estimate: Callable[[], Estimate]) -> Estimate:
        """The estimate of a file type that fits nowhere here: no speed, so beyond the ladder's rooms (which fix the
        GPU count) it depends on the machine only through its first GPU's backend (the runtime's overhead)."""
        first = machine.devices[0] if machine.devices else None
        key = (recipe.name, first and (first.device.vendor, first.speed_class, first.backend))
        found = self.unplaced.get(key)
        if found is None:
            found = self.unplaced[key] = estimate()
        return found


def _ladder(model: ModelSpec, machine: Machine, est: Estimator, request: Request,
            candidates: tuple[QuantRecipe, ...]) -> _Ladder:
    names, runtimes = est.memo(candidates, ("names",), lambda: (tuple(r.name for r in candidates),
                                                                sorted({r.runtime for r in candidates})))
    rooms = est.memo(machine, ("room-ids", names, model.arch.hidden_size),  # rooms are interned (Estimator.room)
                     lambda: tuple(id(est.room(machine, engine_for(runtime), model)) for runtime in runtimes))
    return est.memo(model, ("ladder", request, names, rooms), lambda: _Ladder(model, est))


def _comfortable(est: Estimator, model: ModelSpec, recipe: QuantRecipe, machine: Machine, request: Request,
                 fitted: Fitted, *, first: bool) -> Estimate | None:
    """The file type's estimate when it decodes at the comfort speed, else None. The tier's first file type usually
    wins and gets its full estimate at once; the others are checked by their decode speed alone (cheap) first."""
    if not first:
        decode = est.decode(model, recipe, machine, request, fitted)
        if decode is None or decode < INTERACTIVE_TOKENS_PER_S:
            return None
    e = est.estimate(model, recipe, machine, request, fitted=fitted)
    return e if (e.speed.decode_tokens_per_s or 0.0) >= INTERACTIVE_TOKENS_PER_S else None
