"""What one Estimator shares between machines and models (rooms, ladders of fits, lanes, estimates that fit nowhere)
never changes an answer: each cell of a compare is what that machine alone gets from a fresh estimator; and the
people side of a view is built only when a format for people writes it."""

from __future__ import annotations

import io

import pytest

from advisor.catalog.load import load_catalog
from advisor.estimate.estimator import Estimator, Request
from advisor.plan.choice import best_estimate
from advisor.plan.compare import compare
from advisor.present.emit import emit
from advisor.present.view import Line, Section, View, table
from advisor.specs.facts import Catalog

# same memory under different backends (24 GB: CUDA twice, ROCm), one card twice, unified memory, CPU only
MACHINES = ("RTX 4090", "RTX 3090", "RX 7900 XTX", "2x RTX 3090", "RTX 3060", "M4 Max 128GB", "H100 SXM",
            "DGX Spark", "cpu")


@pytest.mark.parametrize("request_", [Request(context_pinned=False), Request(context_tokens=32768),
                                      Request(context_tokens=16384, depth_tokens=4096, prompt_tokens=2048)],
                         ids=["auto-context", "pinned-32k", "depth-and-prompt"])
def test_each_compare_cell_is_what_that_machine_alone_gets(catalog: Catalog, make_machine, request_: Request) -> None:
    machines = tuple(make_machine(name) if name != "cpu" else make_machine("none") for name in MACHINES)
    models = catalog.models[::3]  # a third of the catalog: dense, MoE, native formats, too big for all of these
    result = compare(MACHINES, machines, Estimator(catalog), request_, models)
    cells = {model.id: estimates for model, estimates in result.rows}
    kinds = {e.placement.kind for es in cells.values() for e in es}
    assert kinds == {"gpu", "gpu+cpu", "cpu", "none"}  # every path of the choice is taken
    fresh_catalog = load_catalog()  # not the compare's catalog object either
    for i, machine in enumerate(machines):
        for model in models:
            alone = Estimator(fresh_catalog)  # nothing shared with other machines or models
            fresh = best_estimate(fresh_catalog.model(model.id), machine, alone, request_)
            assert cells[model.id][i] == fresh, (model.id, MACHINES[i])


def test_a_model_that_fits_nowhere_is_shared_only_between_machines_alike(catalog: Catalog, make_machine) -> None:
    biggest = max(catalog.models, key=lambda m: m.params_total)
    a, b, c = make_machine("RTX 4090"), make_machine("RTX 3090"), make_machine("RX 7900 XTX")
    est = Estimator(catalog)
    on_a, on_b, on_c = (best_estimate(biggest, m, est, Request()) for m in (a, b, c))
    assert on_a.placement.kind == on_b.placement.kind == on_c.placement.kind == "none"
    assert on_a is on_b  # the same room and backend: one estimate, worked out once
    for machine, shared in ((a, on_a), (b, on_b), (c, on_c)):
        assert shared == best_estimate(biggest, machine, Estimator(catalog), Request())


def _view(built: list[str]) -> View:
    def people() -> tuple[Section, ...]:
        built.append("sections")
        return (Section(before=(Line("a machine"),), table=table(["Model", "Decode"], [["m", "12.0"]])),)

    return View("compare", results=({"model": "m"},), people=people)


@pytest.mark.parametrize(("fmt", "builds"), [("json", False), ("table", True), ("csv", True), ("markdown", True)])
def test_the_people_side_is_built_only_for_a_format_for_people(console, fmt: str, builds: bool) -> None:
    built: list[str] = []
    out = io.StringIO()
    emit(_view(built), fmt, out=out, console=lambda: console)
    assert bool(built) is builds
    written = out.getvalue() + console.file.getvalue()
    assert ("12.0" in written) is builds
    assert ('"model":"m"' in written) is (fmt == "json")
