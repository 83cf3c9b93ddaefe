"""Intel probe on fake sysfs trees and recorded-style payloads (intel_*.json, hand-written from the xe and i915
sysfs layouts): discrete Arc cards are GPUs, the iGPU at 00:02.0 never is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from advisor.hardware import intel
from tests.conftest import load_fixture

GIB = 1024**3
PCI_IDS = ("8086  Intel Corporation\n\t56a0  DG2 [Arc A770]\n\t56a1  DG2 [Arc A750]\n"
           "\ta780  Raptor Lake-S GT1 [UHD Graphics 770]\n")


def write_tree(root: Path, payload: dict[str, Any]) -> Path:
    drm = root / "sys/class/drm"
    for item in payload["cards"]:
        for name, text in item["files"].items():
            if text is not None:
                path = drm / item["card"] / name
                path.parent.mkdir(parents=True, exist_ok=True)
                path.write_text(text + "\n")
        (drm / f"{item['card']}-HDMI-A-1").mkdir()
    (root / "usr/share/misc").mkdir(parents=True)
    (root / "usr/share/misc/pci.ids").write_text(PCI_IDS)
    return root


@pytest.mark.parametrize("name", ["intel_igpu_arc_a770_xe.json", "intel_arc_a750_i915.json"])
def test_read_of_a_fake_sysfs_tree_gives_the_recording(tmp_path: Path, name: str) -> None:
    payload = load_fixture(name)
    assert intel.read(write_tree(tmp_path, payload)) == payload


def test_arc_a770_on_xe_is_discrete_and_the_igpu_is_skipped() -> None:
    devices, notes = intel.parse(load_fixture("intel_igpu_arc_a770_xe.json"))
    (arc,) = devices
    assert (arc.name, arc.vendor, arc.kind, arc.memory_total_bytes) == ("Intel Arc A770", "intel", "discrete", 16 * GIB)
    assert arc.memory_free_bytes is None  # xe does not publish free VRAM in sysfs
    assert arc.index == 0
    assert notes == ("Intel: Intel UHD Graphics 770 at 0000:00:02.0 is an integrated GPU sharing system RAM; "
                     "not counted as a GPU (the CPU and RAM estimate covers it)",)


def test_arc_a750_on_i915_reads_lmem() -> None:
    (arc,), notes = intel.parse(load_fixture("intel_arc_a750_i915.json"))
    assert (arc.name, arc.memory_total_bytes, arc.memory_free_bytes) == ("Intel Arc A750", 8 * GIB, 8103395328)
    assert notes == ()


def test_xe_tiles_are_summed_and_found_under_the_card_too(tmp_path: Path) -> None:
    payload = load_fixture("intel_igpu_arc_a770_xe.json")
    root = write_tree(tmp_path, {"cards": payload["cards"][1:]})
    tile1 = root / "sys/class/drm/card1/tile1/physical_vram_size_bytes"
    tile1.parent.mkdir()
    tile1.write_text(f"{8 * GIB}\n")
    (arc,), _ = intel.parse(intel.read(root))
    assert arc.memory_total_bytes == 24 * GIB


def test_igpu_with_local_memory_files_is_still_not_a_discrete_gpu() -> None:
    payload = load_fixture("intel_igpu_arc_a770_xe.json")
    payload["cards"][0]["files"]["lmem_total_bytes"] = str(4 * GIB)  # never taken for a dGPU at 00:02.0
    devices, notes = intel.parse(payload)
    assert [d.name for d in devices] == ["Intel Arc A770"] and "integrated GPU" in notes[0]


def test_card_off_00_02_0_without_local_memory_is_skipped_with_a_reason() -> None:
    payload = load_fixture("intel_arc_a750_i915.json")
    payload["cards"][0]["files"].update(lmem_total_bytes=None, lmem_avail_bytes=None)
    devices, notes = intel.parse(payload)
    assert devices == ()
    assert notes[0].startswith("Intel: Intel Arc A750 (i915) at 0000:03:00.0 reports no local memory")


def test_unreadable_file_becomes_a_note(tmp_path: Path) -> None:
    root = write_tree(tmp_path, load_fixture("intel_arc_a750_i915.json"))
    avail = root / "sys/class/drm/card0/lmem_avail_bytes"
    avail.unlink()
    avail.mkdir()
    (arc,), notes = intel.parse(intel.read(root))
    assert arc.memory_free_bytes is None and notes == ("Intel: card0: could not read lmem_avail_bytes: Is a directory",)


def test_no_pci_ids_gives_the_device_id_as_name(tmp_path: Path) -> None:
    payload = load_fixture("intel_arc_a750_i915.json")
    payload["cards"][0]["pci_name"] = None
    assert intel.parse(payload)[0][0].name == "Intel GPU 0x56a1"
