"""Edge cases of real machines: NVIDIA MIG, lost GPUs, WSL2 and driver errors (fake pynvml, nvml_*.json written by
hand from NVML's documented behaviour), container CPU quotas on fake cgroup trees, and a probe() that never crashes."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from advisor.hardware import amd, host, intel, nvml, probe
from tests.conftest import load_fixture

GIB = 1024**3
_ERRORS: dict[str, type[Exception]] = {}


def nvml_error(name: str) -> type[Exception]:
    """An exception class named like pynvml's (the probe reads the class name)."""
    return _ERRORS.setdefault(name, type(name, (Exception,), {}))


class FakeNVML:
    """pynvml's device calls answered from a payload in read()'s shape, MIG instances and per-GPU errors included."""

    def __init__(self, payload: dict[str, Any]) -> None:
        self.devices: list[dict[str, Any]] = payload.get("devices", [])

    def entry(self, handle: tuple[int, ...]) -> dict[str, Any]:
        item = self.devices[handle[0]]
        return item if len(handle) == 1 else next(m for m in item["mig"] if m["slot"] == handle[1])

    def handle_by_index(self, index: int) -> tuple[int]:
        if "name" not in self.devices[index]:
            raise nvml_error(self.devices[index]["error"])()
        return (index,)

    def mig_mode(self, handle: tuple[int, ...]) -> list[int]:
        if "mig" not in self.entry(handle):
            raise nvml_error("NVMLError_NotSupported")()
        return [1, self.entry(handle).get("mig_pending", 1)]

    def mig_handle(self, handle: tuple[int, ...], slot: int) -> tuple[int, int]:
        if all(m["slot"] != slot for m in self.entry(handle)["mig"]):
            raise nvml_error("NVMLError_NotFound")()
        return (handle[0], slot)

    def memory(self, handle: tuple[int, ...]) -> Any:
        item = self.entry(handle)
        return types.SimpleNamespace(total=item["memory_total_bytes"], free=item["memory_free_bytes"])


def fake_pynvml(payload: dict[str, Any], init_error: str | None = None) -> types.ModuleType:
    """A pynvml stand-in; `init_error` names the NVMLError_* that nvmlInit raises."""
    fake = FakeNVML(payload)

    def init() -> None:
        if init_error:
            raise nvml_error(init_error)("simulated")

    module = types.ModuleType("pynvml")
    module.__dict__.update(
        NVML_CLOCK_MEM=2, nvmlInit=init, nvmlShutdown=lambda: None,
        nvmlSystemGetDriverVersion=lambda: str(payload["driver_version"]).encode(),  # pynvml < 12 returns bytes
        nvmlSystemGetCudaDriverVersion=lambda: payload["cuda_version"],
        nvmlDeviceGetCount=lambda: len(fake.devices), nvmlDeviceGetHandleByIndex=fake.handle_by_index,
        nvmlDeviceGetName=lambda h: fake.entry(h)["name"], nvmlDeviceGetMemoryInfo=fake.memory,
        nvmlDeviceGetMemoryBusWidth=lambda h: fake.entry(h)["bus_width_bits"],
        nvmlDeviceGetMaxClockInfo=lambda h, clock: fake.entry(h)["max_memory_clock_mhz"],
        nvmlDeviceGetCudaComputeCapability=lambda h: tuple(fake.entry(h)["compute_capability"]),
        nvmlDeviceGetMigMode=fake.mig_mode, nvmlDeviceGetMaxMigDeviceCount=lambda h: 7,
        nvmlDeviceGetMigDeviceHandleByIndex=fake.mig_handle,
    )
    return module


def with_lists(raw: dict[str, Any]) -> dict[str, Any]:
    return {**raw, "devices": [{**d, "compute_capability": list(d["compute_capability"])} if "name" in d else d
                               for d in raw["devices"]]}


@pytest.mark.parametrize("name", ["nvml_h100_mig_mixed.json", "nvml_gpu_lost.json"])
def test_fake_pynvml_read_matches_the_recording(monkeypatch: pytest.MonkeyPatch, name: str) -> None:
    payload = load_fixture(name)
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(payload))
    assert with_lists(nvml.read()) == payload


def test_mig_instances_are_reported_instead_of_the_whole_card() -> None:
    devices, notes = nvml.parse(load_fixture("nvml_h100_mig_mixed.json"))
    assert [(d.name, d.memory_total_bytes) for d in devices] == [
        ("NVIDIA H100 80GB HBM3 MIG 3g.40gb", 42412802048),
        ("NVIDIA H100 80GB HBM3 MIG 2g.20gb", 21072183296),
        ("NVIDIA H100 80GB HBM3", 85520809984),  # GPU 1 is not in MIG mode: the whole card
    ]
    whole = 5120 / 8 * 2619 * 2 / 1000  # 3352.32 GB/s
    assert devices[0].bandwidth_gbps == pytest.approx(whole * 42412802048 / 85520809984)
    assert devices[0].memory_free_bytes == 42370859008 and devices[0].compute_capability == "9.0"
    assert devices[2].bandwidth_gbps == pytest.approx(whole)
    assert notes == ("NVIDIA: GPU 0 (NVIDIA H100 80GB HBM3) is in MIG mode: its 2 MIG instance(s) are listed as "
                     "separate devices",)


def test_mig_mode_without_instances_gives_no_device_and_a_note() -> None:
    payload = load_fixture("nvml_h100_mig_mixed.json")
    payload["devices"][0]["mig"] = []
    devices, notes = nvml.parse(payload)
    assert len(devices) == 1 and "no MIG instances" in notes[0]


def test_mig_mode_pending_is_noted(monkeypatch: pytest.MonkeyPatch) -> None:
    payload = load_fixture("nvml_h100_mig_mixed.json")
    payload["devices"][0]["mig_pending"] = 0
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(payload))
    _, notes = nvml.parse(nvml.read())
    assert any("MIG mode change pending" in n for n in notes)


def test_a_lost_gpu_is_skipped_and_the_others_kept(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml(load_fixture("nvml_gpu_lost.json")))
    devices, notes = nvml.parse(nvml.read())
    assert [d.name for d in devices] == ["NVIDIA GeForce RTX 4090", "NVIDIA RTX A6000"]  # mixed models, both kept
    assert [d.index for d in devices] == [0, 2]
    assert notes == ("NVIDIA: GPU 1 has fallen off the bus (NVMLError_GPUIsLost: see dmesg; reseat the card or "
                     "reboot); skipped",)


def test_a_gpu_lost_while_reading_its_memory_is_skipped() -> None:
    payload = load_fixture("nvml_gpu_lost.json")
    payload["devices"][0].update(memory_total_bytes=None, error="NVMLError_GPUIsLost")
    devices, notes = nvml.parse(payload)
    assert [d.name for d in devices] == ["NVIDIA RTX A6000"] and len(notes) == 2 and "GPU 0 has fallen" in notes[0]


def test_permission_denied_on_one_gpu_is_a_note() -> None:
    payload = load_fixture("nvml_gpu_lost.json")
    payload["devices"][1]["error"] = "NVMLError_NoPermission"
    _, notes = nvml.parse(payload)
    assert notes == ("NVIDIA: GPU 1 cannot be queried: permission denied (NVMLError_NoPermission); skipped",)


@pytest.mark.parametrize(("name", "words"), [
    ("nvml_version_mismatch.json", "driver and NVML library versions differ"),
    ("nvml_no_permission.json", "no permission to query the GPU driver"),
    ("nvml_wsl_library_not_found.json", "WSL2: /usr/lib/wsl/lib/libnvidia-ml.so.1"),
])
def test_driver_level_failures_are_one_note(name: str, words: str) -> None:
    devices, notes = nvml.parse(load_fixture(name))
    assert devices == () and len(notes) == 1 and words in notes[0] and notes[0].endswith("no NVIDIA GPU used")


def wsl_root(tmp_path: Path) -> Path:
    lib = tmp_path / nvml.WSL_LIB
    lib.parent.mkdir(parents=True)
    lib.write_bytes(b"\x7fELF")
    return tmp_path


@pytest.mark.parametrize(("module", "error"), [("fake", "NVMLError_LibraryNotFound"), (None, "import")])
def test_wsl2_is_named_when_nvml_cannot_load(monkeypatch: pytest.MonkeyPatch, tmp_path: Path,
                                             module: str | None, error: str) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", module and fake_pynvml({}, init_error="NVMLError_LibraryNotFound"))
    raw = nvml.read(root=wsl_root(tmp_path))
    assert (raw["error"], raw["wsl_lib"]) == (error, "/usr/lib/wsl/lib/libnvidia-ml.so.1")
    assert "LD_LIBRARY_PATH" in nvml.parse(raw)[1][0]


def test_no_wsl_hint_outside_wsl(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({}, init_error="NVMLError_LibraryNotFound"))
    raw = nvml.read(root=tmp_path)
    assert "wsl_lib" not in raw and "WSL2" not in nvml.parse(raw)[1][0]


def test_version_mismatch_at_init_from_the_fake(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setitem(sys.modules, "pynvml", fake_pynvml({}, init_error="NVMLError_LibRmVersionMismatch"))
    assert nvml.parse(nvml.read(root=tmp_path)) == nvml.parse(load_fixture("nvml_version_mismatch.json"))


# --- container CPU limits -------------------------------------------------------------------------------------


def cgroup_raw(tmp_path: Path, files: dict[str, str], proc_cgroup: str, affinity: int | None = None) -> dict:
    for name, text in files.items():
        path = tmp_path / "sys/fs/cgroup" / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text + "\n")
    return {"ram_total_bytes": 64 * GIB, "ram_available_bytes": 60 * GIB, "cpu_logical": 16, "cpu_physical": 8,
            "cgroup": host._read_cgroup(tmp_path, proc_cgroup),
            "cpu_quota": host.read_cpu_cgroup(tmp_path, proc_cgroup), "affinity_cpus": affinity}


@pytest.mark.parametrize(("files", "proc", "logical", "physical"), [
    ({"docker/abc/cpu.max": "200000 100000"}, "0::/docker/abc", 2, 2),
    ({"k/pod/c1/cpu.max": "max 100000", "k/pod/cpu.max": "150000 100000"}, "0::/k/pod/c1", 2, 2),  # ceil(1.5)
    ({"k/pod/c1/cpu.max": "400000 100000", "k/cpu.max": "1200000 100000"}, "0::/k/pod/c1", 4, 4),
    ({"docker/abc/cpu.max": "1200000 100000"}, "0::/docker/abc", 12, 8),
    ({"docker/abc/cpu.max": "max 100000"}, "0::/docker/abc", 16, 8),
    ({"cpu,cpuacct/cpu.cfs_quota_us": "300000", "cpu,cpuacct/cpu.cfs_period_us": "100000"}, "4:cpu:/d", 3, 3),
    ({"cpu/cpu.cfs_quota_us": "-1", "cpu/cpu.cfs_period_us": "100000"}, "4:cpu:/d", 16, 8),
], ids=["v2 two cpus", "v2 parent 1.5 cpus rounds up", "v2 tightest level wins", "v2 above physical cores",
        "v2 unlimited", "v1 three cpus", "v1 unlimited"])
def test_cpu_quota_clamps_cores(tmp_path: Path, files: dict[str, str], proc: str, logical: int,
                                physical: int) -> None:
    hw = host.parse(cgroup_raw(tmp_path, files, proc + "\n"))
    assert (hw.cpu_logical_cores, hw.cpu_physical_cores) == (logical, physical)
    assert any("CPU quota" in n for n in hw.notes) == (logical != 16)


def test_affinity_and_quota_together_take_the_smaller(tmp_path: Path) -> None:
    hw = host.parse(cgroup_raw(tmp_path, {"a/cpu.max": "600000 100000"}, "0::/a\n", affinity=4))
    assert hw.cpu_logical_cores == 4 and any("(affinity)" in n for n in hw.notes)
    assert not any("CPU quota" in n for n in hw.notes)  # 6 CPUs of quota do not bind below 4


def test_memory_and_cpu_limits_apply_together(tmp_path: Path) -> None:
    files = {"d/memory.max": str(8 * GIB), "d/memory.current": str(GIB), "d/cpu.max": "200000 100000"}
    hw = host.parse(cgroup_raw(tmp_path, files, "0::/d\n"))
    assert (hw.ram_total_bytes, hw.ram_available_bytes, hw.cpu_logical_cores) == (8 * GIB, 7 * GIB, 2)


@pytest.mark.parametrize("text", ["garbage", "", "0 100000", "100000 0"])
def test_malformed_cpu_max_is_ignored(tmp_path: Path, text: str) -> None:
    hw = host.parse(cgroup_raw(tmp_path, {"d/cpu.max": text}, "0::/d\n"))
    assert hw.cpu_logical_cores == 16


# --- probe(): order, platforms, never a traceback ------------------------------------------------------------


@pytest.fixture
def host_raw(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(host, "read", lambda: {"ram_total_bytes": 32 * GIB, "ram_available_bytes": 30 * GIB,
                                               "cpu_logical": 8, "cpu_physical": 4})


@pytest.mark.usefixtures("host_raw")
def test_linux_probe_orders_nvidia_amd_intel(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml, "read", lambda: load_fixture("nvml_rtx4090_x1.json"))
    monkeypatch.setattr(amd, "read", lambda: load_fixture("amd_rx7900xtx.json"))
    monkeypatch.setattr(intel, "read", lambda: load_fixture("intel_arc_a750_i915.json"))
    hw = probe(platform="linux")
    assert [d.vendor for d in hw.devices] == ["nvidia", "amd", "intel"]
    assert hw.ram_total_bytes == 32 * GIB


@pytest.mark.usefixtures("host_raw")
def test_a_crashing_backend_becomes_a_note(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> dict[str, Any]:
        raise RuntimeError("sysfs exploded")

    monkeypatch.setattr(nvml, "read", lambda: {"error": "import", "detail": ""})
    monkeypatch.setattr(amd, "read", boom)
    monkeypatch.setattr(intel, "read", lambda: load_fixture("intel_arc_a750_i915.json"))
    hw = probe(platform="linux")
    assert [d.name for d in hw.devices] == ["Intel Arc A750"]
    assert "AMD: probe failed unexpectedly (RuntimeError: sysfs exploded); skipped" in hw.notes


@pytest.mark.usefixtures("host_raw")
@pytest.mark.parametrize("platform", ["win32", "darwin"])
def test_windows_and_macos_degrade_to_notes(monkeypatch: pytest.MonkeyPatch, platform: str) -> None:
    def boom() -> dict[str, Any]:
        raise OSError("no sysctl here")

    monkeypatch.setattr(nvml, "read", lambda: {"error": "NVMLError_LibraryNotFound", "detail": ""})
    monkeypatch.setattr(amd, "read", boom)  # never called off Linux
    from advisor.hardware import apple

    monkeypatch.setattr(apple, "read", boom)
    hw = probe(platform=platform)
    assert hw.devices == () and hw.ram_total_bytes == 32 * GIB
    assert any("not probed on this OS" in n for n in hw.notes)
    assert any(n.startswith("Apple: probe failed") for n in hw.notes) == (platform == "darwin")


def test_host_failure_still_answers(monkeypatch: pytest.MonkeyPatch) -> None:
    def boom() -> dict[str, Any]:
        raise ImportError("No module named 'psutil'")

    monkeypatch.setattr(host, "read", boom)
    hw = probe(gpus=False)
    assert hw.ram_total_bytes is None and hw.notes == ("Host: CPU and RAM could not be read (ImportError: No module "
                                                       "named 'psutil')",)


def test_probe_on_this_machine_does_not_crash() -> None:
    hw = probe()
    assert hw.source == "probe" and hw.ram_total_bytes


def test_a_vgpu_is_a_device_with_its_own_framebuffer_and_an_honest_note() -> None:
    from advisor.catalog.load import load_catalog
    from advisor.estimate.machine import resolve
    from advisor.specs import Hardware

    raw = {"driver_version": "550.90.07", "cuda_version": 12040, "devices": [
        {"index": 0, "name": "GRID A100-40C", "memory_total_bytes": 40 * 1024**3, "memory_free_bytes": 39 * 1024**3,
         "bus_width_bits": None, "max_memory_clock_mhz": None, "compute_capability": [8, 0]}]}
    devices, notes = nvml.parse(raw)
    assert [d.memory_total_bytes for d in devices] == [40 * 1024**3] and notes == ()
    machine = resolve(Hardware("probe", devices, 64 * 1024**3, 60 * 1024**3), load_catalog())
    assert machine.devices[0].memory_usable_bytes == 38 * 1024**3
    assert machine.devices[0].bandwidth_gbps is None
    assert any("bandwidth unknown" in n for n in machine.notes)
