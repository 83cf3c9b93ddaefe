"""AMD probe on fake sysfs trees and recorded-style payloads (amd_*.json, hand-written from amdgpu's sysfs layout)."""

from __future__ import annotations

import sys
import types
from pathlib import Path
from typing import Any

import pytest

from advisor.hardware import amd, sysfs
from tests.conftest import load_fixture

GIB = 1024**3
PCI_IDS = ("# mini pci.ids\n1002  Advanced Micro Devices, Inc. [AMD/ATI]\n"
           "\t1586  Strix Halo [Radeon Graphics / Radeon 8050S / 8060S Graphics]\n"
           "\t744c  Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]\n"
           "\t\t1da2 471e  Radeon RX 7900 XTX\n"
           "\t7480  Navi 33 [Radeon RX 7600/7600 XT/7600M XT/7600S/7700S / PRO W7600]\n"
           "10de  NVIDIA Corporation\n\t2684  AD102 [GeForce RTX 4090]\n")


def write_tree(root: Path, payload: dict[str, Any], pci_ids: bool = True) -> Path:
    """A fake /sys/class/drm holding the payload's cards, plus a connector and a render node to ignore."""
    drm = root / "sys/class/drm"
    for item in payload["cards"]:
        for name, text in item["files"].items():
            if text is not None:
                path = drm / item["card"] / "device" / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text + "\n")
        (drm / f"{item['card']}-DP-1").mkdir()
    (drm / "renderD128").mkdir(parents=True)
    if pci_ids:
        (root / "usr/share/hwdata").mkdir(parents=True)
        (root / "usr/share/hwdata/pci.ids").write_text(PCI_IDS)
    return root


@pytest.fixture(autouse=True)
def no_amdsmi(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "amdsmi", None)  # import amdsmi raises ImportError, whatever is installed


@pytest.mark.parametrize("name", ["amd_rx7900xtx.json", "amd_strix_halo.json"])
def test_read_of_a_fake_sysfs_tree_gives_the_recording(tmp_path: Path, name: str) -> None:
    payload = load_fixture(name)
    assert amd.read(write_tree(tmp_path, payload)) == payload


def test_discrete_7900_xtx_reports_vram_only() -> None:
    devices, notes = amd.parse(load_fixture("amd_rx7900xtx.json"))
    (gpu,) = devices
    assert (gpu.name, gpu.vendor, gpu.kind) == ("AMD Radeon RX 7900 XTX", "amd", "discrete")
    assert gpu.memory_total_bytes == 25753026560  # VRAM; the 31 GiB GTT pool is not added for a dGPU
    assert gpu.memory_free_bytes == 25753026560 - 1234567168
    assert notes == ()


def test_strix_halo_apu_is_unified_vram_plus_gtt() -> None:
    devices, notes = amd.parse(load_fixture("amd_strix_halo.json"))
    (apu,) = devices
    assert apu.kind == "unified"
    assert apu.memory_total_bytes == 536870912 + 68379398144
    assert apu.memory_free_bytes == (536870912 - 98304000) + (68379398144 - 1073741824)
    assert apu.name.startswith("AMD Strix Halo")
    assert "APU (PCI id 0x1586 is a Ryzen iGPU)" in notes[0] and "VRAM carve-out 0.5 GiB + GTT 63.7 GiB" in notes[0]


def test_unknown_id_with_small_vram_and_large_gtt_is_an_apu() -> None:
    payload = load_fixture("amd_strix_halo.json")
    payload["cards"][0]["files"]["device"] = "0x1999"
    (apu,), notes = amd.parse(payload)
    assert apu.kind == "unified" and "VRAM under 2 GiB with a larger GTT pool" in notes[0]


def test_small_discrete_card_with_2_gib_is_not_an_apu() -> None:
    payload = load_fixture("amd_rx7900xtx.json")
    payload["cards"][0]["files"].update(device="0x699f", mem_info_vram_total=str(2 * GIB), mem_info_vram_used="0")
    (gpu,), _ = amd.parse(payload)
    assert gpu.kind == "discrete" and gpu.memory_total_bytes == 2 * GIB


def test_names_prefer_product_name_then_amdsmi_then_pci_ids() -> None:
    payload = load_fixture("amd_rx7900xtx.json")
    item = payload["cards"][0]
    item["market_name"] = "AMD Radeon RX 7900 XTX (smi)"
    assert amd.parse(payload)[0][0].name == "AMD Radeon RX 7900 XTX (smi)"
    item["files"]["product_name"] = "Radeon PRO W7900"
    assert amd.parse(payload)[0][0].name == "Radeon PRO W7900"
    item.update(market_name=None, pci_name=None)
    item["files"]["product_name"] = None
    assert amd.parse(payload)[0][0].name == "AMD GPU 0x744c"


def test_card_without_amdgpu_memory_files_is_skipped_with_a_note(tmp_path: Path) -> None:
    payload = load_fixture("amd_rx7900xtx.json")
    payload["cards"][0]["files"].update(mem_info_vram_total=None, uevent="DRIVER=radeon\nPCI_SLOT_NAME=0000:01:00.0")
    devices, notes = amd.parse(payload)
    assert devices == () and "radeon" in notes[0] and "mem_info_vram_total" in notes[0]


def test_an_unreadable_file_becomes_a_note_and_the_card_is_kept(tmp_path: Path) -> None:
    root = write_tree(tmp_path, load_fixture("amd_rx7900xtx.json"))
    used = root / "sys/class/drm/card1/device/mem_info_vram_used"
    used.unlink()
    used.mkdir()  # reading it raises IsADirectoryError, an OSError other than "missing"
    devices, notes = amd.parse(amd.read(root))
    assert devices[0].memory_total_bytes == 25753026560 and devices[0].memory_free_bytes is None
    assert notes == ("AMD: card1: could not read mem_info_vram_used: Is a directory",)


def test_no_drm_folder_means_no_devices_and_no_noise(tmp_path: Path) -> None:
    assert amd.parse(amd.read(tmp_path)) == ((), ())


def test_nvidia_and_intel_cards_are_not_taken_for_amd(tmp_path: Path) -> None:
    for card, vendor in (("card0", "0x10de"), ("card1", "0x8086")):
        (tmp_path / f"sys/class/drm/{card}/device").mkdir(parents=True)
        (tmp_path / f"sys/class/drm/{card}/device/vendor").write_text(vendor + "\n")
    assert amd.read(tmp_path) == {"cards": []}


def fake_amdsmi(names: dict[str, str], fail_init: bool = False) -> types.ModuleType:
    module = types.ModuleType("amdsmi")

    def init() -> None:
        if fail_init:
            raise OSError("libamd_smi.so: cannot open shared object file")

    module.__dict__.update(
        amdsmi_init=init, amdsmi_shut_down=lambda: None, amdsmi_get_processor_handles=lambda: list(names),
        amdsmi_get_gpu_device_bdf=lambda h: h, amdsmi_get_gpu_asic_info=lambda h: {"market_name": names[h]})
    return module


def test_amdsmi_market_name_is_matched_by_pci_slot(tmp_path: Path) -> None:
    root = write_tree(tmp_path, load_fixture("amd_rx7900xtx.json"), pci_ids=False)
    raw = amd.read(root, smi=fake_amdsmi({"0000:03:00.0": "AMD Radeon RX 7900 XTX"}))
    assert raw["cards"][0]["market_name"] == "AMD Radeon RX 7900 XTX"
    assert amd.parse(raw)[0][0].name == "AMD Radeon RX 7900 XTX"


def test_a_broken_amdsmi_is_ignored_silently(tmp_path: Path) -> None:
    root = write_tree(tmp_path, load_fixture("amd_rx7900xtx.json"))
    raw = amd.read(root, smi=fake_amdsmi({}, fail_init=True))
    devices, notes = amd.parse(raw)
    assert raw["cards"][0]["market_name"] is None and devices[0].name == "AMD Radeon RX 7900 XTX" and notes == ()


@pytest.mark.parametrize(("device", "subsystem", "expected"), [
    ("0x744c", "1da2 471e", "Radeon RX 7900 XTX"),
    ("0x744c", "1849 5304", "Navi 31 [Radeon RX 7900 XT/7900 XTX/7900 GRE/7900M]"),
    ("0x7480", None, "Navi 33 [Radeon RX 7600/7600 XT/7600M XT/7600S/7700S / PRO W7600]"),
    ("0x2684", None, None),  # an NVIDIA id is not looked up under AMD's vendor section
])
def test_pci_ids_lookup(device: str, subsystem: str | None, expected: str | None) -> None:
    assert sysfs.pci_ids_name(PCI_IDS.splitlines(keepends=True), "0x1002", device, subsystem) == expected
