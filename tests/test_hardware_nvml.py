"""NVML probe on recorded payloads and a fake pynvml; passes on machines without a GPU."""

from __future__ import annotations

import sys
import types
from typing import Any

import pytest

from advisor.estimate.machine import resolve
from advisor.hardware import nvml
from advisor.specs import Hardware
from advisor.specs.facts import Catalog
from tests.conftest import load_fixture


class NVMLError(Exception):
    pass


class NVMLError_LibraryNotFound(NVMLError):
    pass


class NVMLError_DriverNotLoaded(NVMLError):
    pass


def fake_pynvml(payload: dict[str, Any], init_error: type[Exception] | None = None) -> types.ModuleType:
    """A pynvml stand-in answering from a recorded payload."""
    module = types.ModuleType("pynvml")
    devices = payload["devices"]

    def init() -> None:
        if init_error is not None:
            raise init_error("simulated")

    def memory(handle: int) -> Any:
        d = devices[handle]
        return types.SimpleNamespace(total=d["memory_total_bytes"], free=d["memory_free_bytes"],
                                     used=d["memory_total_bytes"] - d["memory_free_bytes"])

    module.__dict__.update(
        NVML_CLOCK_MEM=2, NVMLError=NVMLError, nvmlInit=init, nvmlShutdown=lambda: None,
        nvmlSystemGetDriverVersion=lambda: payload["driver_version"],
        nvmlSystemGetCudaDriverVersion=lambda: payload["cuda_version"],
        nvmlDeviceGetCount=lambda: len(devices), nvmlDeviceGetHandleByIndex=lambda i: i,
        nvmlDeviceGetName=lambda h: devices[h]["name"], nvmlDeviceGetMemoryInfo=memory,
        nvmlDeviceGetMemoryBusWidth=lambda h: devices[h]["bus_width_bits"],
        nvmlDeviceGetMaxClockInfo=lambda h, clock: devices[h]["max_memory_clock_mhz"],
        nvmlDeviceGetCudaComputeCapability=lambda h: tuple(devices[h]["compute_capability"]),
    )
    return module


def test_one_4090_from_a_recorded_payload() -> None:
    devices, notes = nvml.parse(load_fixture("nvml_rtx4090_x1.json"))
    assert notes == ()
    (gpu,) = devices
    assert gpu.name == "NVIDIA GeForce RTX 4090"
    assert gpu.memory_free_bytes == 25217466368
    assert gpu.bandwidth_gbps == pytest.approx(1008.096)  # 384 / 8 x 10501 x 2 / 1000
    assert gpu.compute_capability == "8.9"
    assert gpu.cuda_version == "12.8"


def test_fake_pynvml_read_matches_the_recording(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = load_fixture("nvml_rtx4090_rtx3090.json")
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(payload))
    raw = nvml.read()
    raw["devices"] = [{**d, "compute_capability": list(d["compute_capability"])} for d in raw["devices"]]
    assert raw == payload


def test_two_different_gpus_are_both_seen_and_not_summed(monkeypatch: pytest.MonkeyPatch,
                                                          catalog: Catalog) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(load_fixture("nvml_rtx4090_rtx3090.json")))
    devices, _ = nvml.parse(nvml.read())
    assert [d.name for d in devices] == ["NVIDIA GeForce RTX 4090", "NVIDIA GeForce RTX 3090"]
    machine = resolve(Hardware("probe", devices, 64 * 1024**3, 60 * 1024**3), catalog)
    assert [d.spec.id if d.spec else None for d in machine.devices] == ["rtx-4090", "rtx-3090"]
    # usable memory starts from free memory, not total
    assert machine.devices[0].memory_usable_bytes == 24121442304 - 1024**3
    assert machine.devices[1].bandwidth_gbps == pytest.approx(936.096)


@pytest.mark.parametrize(("error", "words"), [
    (NVMLError_LibraryNotFound, "NVML library not found"),
    (NVMLError_DriverNotLoaded, "driver is not loaded"),
])
def test_driver_errors_become_notes(monkeypatch: pytest.MonkeyPatch, error: type[Exception], words: str) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({"devices": []}, init_error=error))
    devices, notes = nvml.parse(nvml.read())
    assert devices == ()
    assert words in notes[0]


def test_missing_library_module_becomes_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", None)  # import pynvml raises ImportError
    devices, notes = nvml.parse(nvml.read())
    assert devices == () and "not importable" in notes[0]


def test_a_failing_device_query_is_skipped_with_a_note() -> None:
    payload = load_fixture("nvml_rtx4090_rtx3090.json")
    payload["devices"][1] = {"index": 1, "error": "handle"}
    devices, notes = nvml.parse(payload)
    assert len(devices) == 1 and "GPU 1" in notes[0]
