"""AMD GPUs on Linux through amdgpu's sysfs files (amdsmi, when importable, only supplies marketing names).

read(root) collects /sys/class/drm/card<N>/device files for PCI vendor 0x1002; parse(raw) is pure.

APU rule: a card is an APU (kind "unified") when its PCI device id is a known Ryzen iGPU (_APU_IDS), or, for ids
not listed, when its VRAM is under 2 GiB while its GTT pool is larger: every discrete Radeon since Polaris has at
least 2 GiB, while APU firmware carves out 512 MiB to 2 GiB by default. An APU's GPU can address its VRAM
carve-out plus the GTT pool (system RAM mapped for it), so memory_total_bytes = VRAM + GTT.
"""

from __future__ import annotations

import contextlib
import importlib
from pathlib import Path
from types import ModuleType
from typing import Any, Final

from advisor.hardware import sysfs
from advisor.specs import Device

Raw = dict[str, Any]
GIB: Final = 1024**3
FILES: Final = ("vendor", "device", "subsystem_vendor", "subsystem_device", "uevent", "boot_vga", "product_name",
                "mem_info_vram_total", "mem_info_vram_used", "mem_info_gtt_total", "mem_info_gtt_used")
# iGPU PCI ids of Ryzen APUs (pci.ids / amdgpu): Raven, Picasso, Renoir, Lucienne, Cezanne, Van Gogh (Steam Deck),
# Rembrandt (680M), Raphael, Mendocino, Phoenix 1-4 (780M/760M/740M), Strix Point (890M), Strix Halo (8060S),
# Granite Ridge, Krackan Point.
_APU_IDS: Final = frozenset({"0x15dd", "0x15d8", "0x1636", "0x164c", "0x1638", "0x163f", "0x1681", "0x164e",
                             "0x1506", "0x15bf", "0x15c8", "0x1900", "0x1901", "0x150e", "0x1586", "0x13c0",
                             "0x1114"})
_SMALL_VRAM: Final = 2 * GIB


def read(root: Path = Path("/"), smi: ModuleType | None = None) -> Raw:
    """Raw sysfs text of every AMD card, its pci.ids name and amdsmi market name (recordable as a fixture)."""
    cards = []
    for card in sysfs.drm_cards(root, "0x1002"):
        item = sysfs.read_card(card / "device", FILES)
        item["card"] = card.name
        files = item["files"]
        sub = sysfs.subsystem_id(files["subsystem_vendor"], files["subsystem_device"])
        item["pci_name"] = sysfs.pci_ids_name_from(root, "0x1002", files["device"], sub)
        cards.append(item)
    names = _smi_names(smi) if cards else {}
    for item in cards:
        slot = sysfs.uevent(item["files"]["uevent"]).get("PCI_SLOT_NAME", "").lower()
        item["market_name"] = names.get(slot)
    return {"cards": cards}


def _smi_names(module: ModuleType | None) -> dict[str, str]:
    """PCI slot -> market name from amdsmi; any failure (not installed, no ROCm) gives {} silently."""
    try:
        smi = module or importlib.import_module("amdsmi")
        smi.amdsmi_init()
    except Exception:  # ImportError, OSError, AmdSmiLibraryException: amdsmi is optional
        return {}
    names: dict[str, str] = {}
    try:
        for handle in smi.amdsmi_get_processor_handles():
            name = (smi.amdsmi_get_gpu_asic_info(handle) or {}).get("market_name")
            if name:
                names[str(smi.amdsmi_get_gpu_device_bdf(handle)).lower()] = str(name)
    except Exception:  # a partial answer is still useful
        pass
    finally:
        with contextlib.suppress(Exception):  # shutting down a half-initialised library may fail
            smi.amdsmi_shut_down()
    return names


def parse(raw: Raw) -> tuple[tuple[Device, ...], tuple[str, ...]]:
    """Devices and notes from read()'s data."""
    return sysfs.parse_cards(raw, "AMD", _device)


def _name(item: Raw) -> str:
    files = item.get("files", {})
    product = files.get("product_name") or item.get("market_name")
    return str(product) if product else sysfs.display_name("AMD", item.get("pci_name"), files.get("device"))


def _device(item: Raw, index: int) -> tuple[Device | None, str | None]:
    files: dict[str, str | None] = item.get("files", {})
    name = _name(item)
    vram, gtt = sysfs.to_int(files.get("mem_info_vram_total")), sysfs.to_int(files.get("mem_info_gtt_total"))
    if not vram:
        driver = sysfs.uevent(files.get("uevent")).get("DRIVER", "unknown driver")
        return None, f"AMD: {name} ({item.get('card')}, {driver}) reports no mem_info_vram_total; skipped"
    vram_free = _free(vram, files.get("mem_info_vram_used"))
    apu, why = _is_apu(files.get("device"), vram, gtt)
    if not apu or not gtt:
        return Device(name=name, vendor="amd", kind="discrete", memory_total_bytes=vram,
                      memory_free_bytes=vram_free, index=index), None
    gtt_free = _free(gtt, files.get("mem_info_gtt_used"))
    free = vram_free + gtt_free if vram_free is not None and gtt_free is not None else None
    note = (f"AMD: {name} is an APU ({why}): counted as unified memory, VRAM carve-out {vram / GIB:.1f} GiB "
            f"+ GTT {gtt / GIB:.1f} GiB = {(vram + gtt) / GIB:.1f} GiB of system RAM the GPU can use")
    return Device(name=name, vendor="amd", kind="unified", memory_total_bytes=vram + gtt,
                  memory_free_bytes=free, index=index), note


def _is_apu(device_id: str | None, vram: int, gtt: int | None) -> tuple[bool, str]:
    """Whether a card is an APU's iGPU, and why (see the module docstring for the rule)."""
    if device_id and device_id.strip().lower() in _APU_IDS:
        return True, f"PCI id {device_id.strip().lower()} is a Ryzen iGPU"
    if gtt and vram < _SMALL_VRAM and gtt > vram:
        return True, "VRAM under 2 GiB with a larger GTT pool"
    return False, ""


def _free(total: int, used_text: str | None) -> int | None:
    used = sysfs.to_int(used_text)
    return max(0, total - used) if used is not None else None
