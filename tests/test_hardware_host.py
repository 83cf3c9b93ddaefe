"""Host RAM clamped to container limits, on fake cgroup trees; Apple probe on sysctl fixtures."""

from __future__ import annotations

from pathlib import Path

import pytest

from advisor.estimate.machine import resolve
from advisor.hardware import apple, host
from advisor.specs import Hardware
from advisor.specs.facts import Catalog
from tests.conftest import load_fixture

GIB = 1024**3


def fake_root(tmp_path: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return tmp_path


def raw_with(root: Path, proc_cgroup: str) -> dict:
    return {"ram_total_bytes": 64 * GIB, "ram_available_bytes": 60 * GIB, "cpu_logical": 16, "cpu_physical": 8,
            "cpuinfo": "model name\t: AMD Ryzen 9 7950X 16-Core Processor\n",
            "cgroup": host._read_cgroup(root, proc_cgroup)}


def test_cgroup_v2_limit_replaces_host_ram(tmp_path: Path) -> None:
    root = fake_root(tmp_path, {"sys/fs/cgroup/docker/abc/memory.max": f"{16 * GIB}\n",
                                "sys/fs/cgroup/docker/abc/memory.current": f"{2 * GIB}\n"})
    hw = host.parse(raw_with(root, "0::/docker/abc\n"))
    assert hw.ram_total_bytes == 16 * GIB
    assert hw.ram_available_bytes == 14 * GIB
    assert hw.ram_limit_source == "cgroup v2"
    assert any("container memory limit" in n for n in hw.notes)
    assert hw.cpu_name == "AMD Ryzen 9 7950X 16-Core Processor"


def test_cgroup_v2_limit_set_on_a_parent_applies(tmp_path: Path) -> None:
    root = fake_root(tmp_path, {"sys/fs/cgroup/kubepods/pod1/c1/memory.max": "max\n",
                                "sys/fs/cgroup/kubepods/pod1/memory.max": f"{8 * GIB}\n",
                                "sys/fs/cgroup/kubepods/pod1/memory.current": f"{1 * GIB}\n"})
    hw = host.parse(raw_with(root, "0::/kubepods/pod1/c1\n"))
    assert hw.ram_total_bytes == 8 * GIB


def test_cgroup_v1_limit(tmp_path: Path) -> None:
    root = fake_root(tmp_path, {"sys/fs/cgroup/memory/memory.limit_in_bytes": f"{12 * GIB}\n",
                                "sys/fs/cgroup/memory/memory.usage_in_bytes": f"{3 * GIB}\n"})
    hw = host.parse(raw_with(root, "12:memory:/docker/abc\n"))
    assert (hw.ram_total_bytes, hw.ram_available_bytes, hw.ram_limit_source) == (12 * GIB, 9 * GIB, "cgroup v1")


def test_unlimited_cgroups_keep_host_ram(tmp_path: Path) -> None:
    root = fake_root(tmp_path, {"sys/fs/cgroup/user.slice/memory.max": "max\n",
                                "sys/fs/cgroup/memory/memory.limit_in_bytes": "9223372036854771712\n"})
    hw = host.parse(raw_with(root, "0::/user.slice\n"))
    assert hw.ram_total_bytes == 64 * GIB and hw.ram_limit_source is None


def test_real_host_read_does_not_crash() -> None:
    hw = host.parse(host.read())
    assert hw.ram_total_bytes and hw.ram_total_bytes > 0


def test_apple_m4_max_from_sysctl_fixture(catalog: Catalog) -> None:
    devices, _notes = apple.parse(load_fixture("apple_m4_max_128.json"))
    (mac,) = devices
    assert (mac.name, mac.gpu_cores, mac.kind, mac.wired_limit_bytes) == ("Apple M4 Max", 40, "unified", None)
    machine = resolve(Hardware("probe", devices, mac.memory_total_bytes, 100 * GIB), catalog)
    dev = machine.devices[0]
    assert dev.spec is not None and dev.spec.id == "m4-max-40c"
    assert dev.memory_usable_bytes == int(128 * GIB * 0.75)  # default working set above 36 GiB
    assert "iogpu.wired_limit_mb not set" in dev.usable_basis


def test_apple_wired_limit_overrides_the_default(catalog: Catalog) -> None:
    raw = {**load_fixture("apple_m4_max_128.json"), "wired_limit_mb": "122880\n"}
    devices, _ = apple.parse(raw)
    machine = resolve(Hardware("probe", devices, 128 * GIB, 100 * GIB), catalog)
    assert machine.devices[0].memory_usable_bytes == 120 * GIB


@pytest.mark.parametrize("brand", ["Intel(R) Core(TM) i9-9880H", "", None])
def test_non_apple_silicon_gives_a_note_not_a_device(brand: str | None) -> None:
    devices, notes = apple.parse({"brand": brand, "memsize": "1"})
    assert devices == () and notes


def test_ram_bandwidth_measurement_runs_and_is_cached(tmp_path: Path) -> None:
    from advisor.hardware import rambw

    assert 0.1 < rambw.measure(workers=2, buffer_bytes=64 * 1024 * 1024) < 10_000
    assert rambw.cached(tmp_path) is None
    result = rambw.measure_and_cache(tmp_path)
    assert rambw.cached(tmp_path) == result


@pytest.mark.parametrize(("brand", "cores", "memory_gib", "catalog_id"), [
    ("Apple M1", 8, 16, "m1-8c"), ("Apple M1 Max", 32, 64, "m1-max-32c"), ("Apple M2 Ultra", 76, 192, "m2-ultra-76c"),
    ("Apple M3 Pro", 18, 36, "m3-pro-18c"), ("Apple M3 Max", 30, 36, "m3-max-30c"), ("Apple M4", 10, 32, "m4-10c"),
    ("Apple M4 Pro", 20, 48, "m4-pro-20c"), ("Apple M4 Max", 32, 36, "m4-max-32c"),
])
def test_apple_chips_match_their_catalog_bin(catalog: Catalog, brand: str, cores: int, memory_gib: int,
                                             catalog_id: str) -> None:
    raw = {"brand": f"{brand}\n", "memsize": f"{memory_gib * GIB}\n", "wired_limit_mb": "0\n",
           "ioreg": f'    "gpu-core-count" = {cores}\n'}
    devices, _ = apple.parse(raw)
    machine = resolve(Hardware("probe", devices, memory_gib * GIB, memory_gib * GIB // 2), catalog)
    spec = machine.devices[0].spec
    assert spec is not None and spec.id == catalog_id
    fraction = 0.667 if memory_gib <= 36 else 0.75
    assert machine.devices[0].memory_usable_bytes == int(memory_gib * GIB * fraction)


def test_m5_without_a_core_count_still_matches_its_chip(catalog: Catalog) -> None:
    devices, notes = apple.parse({"brand": "Apple M5\n", "memsize": f"{16 * GIB}\n"})
    machine = resolve(Hardware("probe", devices, 16 * GIB, 8 * GIB), catalog)
    assert machine.devices[0].spec is not None and machine.devices[0].spec.id.startswith("m5")
    assert any("core count" in n for n in notes)
