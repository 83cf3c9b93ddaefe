"""A published run is shown beside an estimate only when it ran on the estimate's own backend: an MLX run is not what
llama.cpp's Metal build does, nor a Vulkan run what its ROCm build does."""

from __future__ import annotations

from dataclasses import replace

from advisor.estimate.estimator import Estimator, Request
from advisor.specs.facts import Catalog


def _runs(catalog: Catalog, device: str, model: str, quant: str) -> dict[str, set[float]]:
    """The published tg128 runs at depth 0 of this device, model and file type, by backend."""
    out: dict[str, set[float]] = {}
    for m in catalog.measurements:
        same = (m.device, m.model, m.quant, m.device_count) == (device, model, quant, 1)
        if same and m.test == "tg128" and m.depth_tokens == 0:
            out.setdefault(m.backend, set()).add(m.tokens_per_s)
    return out


def test_the_run_beside_an_estimate_is_of_its_own_backend(catalog: Catalog, make_machine) -> None:
    runs = _runs(catalog, "ryzen-ai-max-395", "gpt-oss-120b", "MXFP4")
    assert {"rocm", "vulkan"} <= set(runs) and not runs["rocm"] & runs["vulkan"]
    e = Estimator(catalog).estimate(catalog.model("gpt-oss-120b"), catalog.recipe("MXFP4"),
                                    make_machine("Ryzen AI Max+ 395 128GB"), Request(context_tokens=8192))
    shown = e.speed.measured_decode
    assert shown is not None and shown.backend == "rocm" and shown.tokens_per_s in runs["rocm"]
    assert shown.date  # the build's month, so a reader can tell an old build from today's


def test_an_mlx_run_is_not_shown_beside_a_llama_cpp_estimate(catalog: Catalog, make_machine) -> None:
    # the catalog's M4 Max gpt-oss-120b MXFP4 runs on MLX are 512-token decodes (round 15's audit), which nothing is
    # shown beside; one of them as a tg128 is the run an MLX-blind lookup would show on llama.cpp's estimate
    mlx = next(m for m in catalog.measurements if (m.device, m.model, m.quant, m.backend, m.depth_tokens)
               == ("m4-max-40c", "gpt-oss-120b", "MXFP4", "mlx", 0))
    catalog = replace(catalog, measured=(*catalog.measurements, replace(mlx, test="tg128")))
    assert set(_runs(catalog, "m4-max-40c", "gpt-oss-120b", "MXFP4")) == {"mlx"}
    e = Estimator(catalog).estimate(catalog.model("gpt-oss-120b"), catalog.recipe("MXFP4"),
                                    make_machine("M4 Max 128GB"), Request(context_tokens=8192))
    assert e.engine == "llama.cpp" and e.speed.measured_decode is None
