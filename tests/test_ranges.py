"""The ranges beside every estimate: a band of held-out errors whose tail is calibrated on held-out devices."""

from __future__ import annotations

import random
from types import SimpleNamespace
from typing import Any

from advisor.speed import ranges


def _runs(devices: int, runs: int, spread: float, seed: int = 1) -> list[Any]:
    """Held-out predictions of `devices` devices of one decode key, `runs` each: a device's runs share an offset
    drawn with `spread`, and each run adds noise of its own (a tenth of that)."""
    rng = random.Random(seed)
    out = []
    for d in range(devices):
        offset = rng.gauss(0.0, spread)
        for _ in range(runs):
            case = SimpleNamespace(group=f"gpu-{d}", key="cuda:ampere", backend="cuda",
                                   m=SimpleNamespace(backend="cuda"))
            out.append(SimpleNamespace(error=offset + rng.gauss(0.0, spread / 10), case=case))
    return out


def test_runs_that_err_together_widen_the_band() -> None:
    # 40 devices of 6 runs each, the runs of a device close together: a 10th-90th band of runs is too narrow for a
    # device never measured, so the calibrated tail is smaller and the band wider; nested, the band then holds 80 %
    runs = _runs(40, 6, 0.2)
    plain, n = ranges.uncalibrated_coverage(runs, "decode")
    tail = ranges.calibrated_tail(runs, "decode")
    assert plain < 0.8 * n
    assert tail < ranges.TAILS[0]
    wide, narrow = ranges.band(runs, tail), ranges.band(runs)
    assert wide.low < narrow.low and wide.high > narrow.high and wide.tail == tail


def test_runs_that_do_not_err_together_keep_about_the_10th_to_90th_band() -> None:
    # one run per device: the runs are exchangeable, and the split-conformal 10th-90th band already holds about 80 %;
    # the (m + 1) / m correction widens it by half a point at most
    runs = _runs(200, 1, 0.2, seed=3)
    assert ranges.calibrated_tail(runs, "decode") >= ranges.TAILS[1]
    inside, n = ranges.coverage(runs, "decode")["all"]
    assert inside >= 0.78 * n


def _run(device: str, error: float, backend: str = "cuda") -> Any:
    return SimpleNamespace(error=error, case=SimpleNamespace(group=device, key="cuda:ampere", backend="cuda",
                                                             m=SimpleNamespace(backend=backend)))


def test_a_device_is_checked_at_a_tail_calibrated_without_it() -> None:
    # 21 devices one run each, evenly from -20 % to +20 %, and one device ("x") with 10 runs at +19 %, outside the
    # others' 10th-90th band. Calibrated on every device, the tail widens until x's runs fall inside; counted
    # nested, x is checked at the tail the 21 others give, and none of its runs is inside
    others = [_run(f"gpu-{i}", -0.2 + 0.02 * i) for i in range(21)]
    runs = others + [_run("x", 0.19, backend="x") for _ in range(10)]
    tail = ranges.calibrated_tail(runs, "decode")
    in_sample = ranges.band(others, tail)
    assert tail < ranges.TAILS[0] and in_sample.low <= 0.19 <= in_sample.high
    assert ranges.coverage(runs, "decode")["x"] == (0, 10)


def _keyed(device: str, error: float, key: str, label: str) -> Any:
    return SimpleNamespace(error=error, case=SimpleNamespace(group=device, key=key, backend=ranges.key_backend(key),
                                                             m=SimpleNamespace(backend=label)))


def test_a_key_with_too_few_devices_takes_its_backends_errors_before_every_backends() -> None:
    # an APU is its key's only device (cuda:apu, 8 runs at +31 %); three other CUDA devices err +30 to +32 %, and
    # 200 Vulkan devices -20 % to +20 %. Held out, the APU's key has no other device, so its range is the band of
    # its backend's other devices' errors, which holds all its runs; were those devices another backend's, it
    # would be every device's band, which holds none of them
    def runs(other_backend: str) -> list[Any]:
        cuda = [_keyed(f"gpu-{d}", 0.30 + 0.01 * d, f"{other_backend}:ampere", "cuda") for d in range(3)
                for _ in range(3 if d < 2 else 2)]
        vulkan = [_keyed(f"vk-{i}", -0.2 + 0.002 * i, "vulkan:rdna-3", "vulkan") for i in range(200)]
        return cuda + vulkan + [_keyed("apu", 0.31, "cuda:apu", "apu") for _ in range(8)]

    assert ranges.coverage(runs("cuda"), "decode")["apu"] == (8, 8)
    assert ranges.coverage(runs("rocm"), "decode")["apu"] == (0, 8)
