"""Intel GPUs on Linux through sysfs: xe (tile<N>/physical_vram_size_bytes) and i915 (lmem_total_bytes).

read(root) collects /sys/class/drm/card<N> files for PCI vendor 0x8086; parse(raw) is pure.

Rule: a card with local memory is a discrete Arc (kind "discrete"). An integrated GPU (PCI slot 00:02.0, where every
Intel iGPU sits, or no local memory) is skipped with a note: it draws on system RAM at system-RAM bandwidth, which
the host RAM estimate already covers, so counting it as a GPU would double count that memory.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final

from advisor.hardware import sysfs
from advisor.specs import Device

Raw = dict[str, Any]
FILES: Final = ("device/vendor", "device/device", "device/subsystem_vendor", "device/subsystem_device",
                "device/uevent", "lmem_total_bytes", "lmem_avail_bytes", "device/lmem_total_bytes",
                "device/lmem_avail_bytes")
_TILE_FILE: Final = "physical_vram_size_bytes"
_IGPU_SLOT: Final = "00:02.0"


def _tile_files(card: Path) -> list[str]:
    """xe's per-tile VRAM files, under the card or under its PCI device folder."""
    found: list[str] = []
    for folder in ("", "device/"):
        try:
            tiles = sorted(p.name for p in (card / folder).glob("tile*") if (p / _TILE_FILE).exists())
        except OSError:
            continue
        found += [f"{folder}{tile}/{_TILE_FILE}" for tile in tiles]
    return found


def read(root: Path = Path("/")) -> Raw:
    """Raw sysfs text of every Intel card and its pci.ids name (recordable as a fixture)."""
    cards = []
    for card in sysfs.drm_cards(root, "0x8086"):
        item = sysfs.read_card(card, (*FILES, *_tile_files(card)))
        files = item["files"]
        sub = sysfs.subsystem_id(files["device/subsystem_vendor"], files["device/subsystem_device"])
        item["pci_name"] = sysfs.pci_ids_name_from(root, "0x8086", files["device/device"], sub)
        cards.append(item)
    return {"cards": cards}


def parse(raw: Raw) -> tuple[tuple[Device, ...], tuple[str, ...]]:
    """Discrete Arc devices and notes from read()'s data."""
    return sysfs.parse_cards(raw, "Intel", _device)


def local_memory(files: dict[str, str | None]) -> tuple[int | None, int | None]:
    """(total, free) bytes of device-local memory: xe tiles summed (free unknown), else i915 lmem."""
    tiles = [sysfs.to_int(text) for name, text in sorted(files.items()) if name.endswith(_TILE_FILE)]
    if any(tiles):
        return sum(t for t in tiles if t), None
    for prefix in ("", "device/"):
        total = sysfs.to_int(files.get(f"{prefix}lmem_total_bytes"))
        if total:
            return total, sysfs.to_int(files.get(f"{prefix}lmem_avail_bytes"))
    return None, None


def _device(item: Raw, index: int) -> tuple[Device | None, str | None]:
    files: dict[str, str | None] = item.get("files", {})
    name = sysfs.display_name("Intel", item.get("pci_name"), files.get("device/device"))
    event = sysfs.uevent(files.get("device/uevent"))
    slot, driver = event.get("PCI_SLOT_NAME", "unknown slot"), event.get("DRIVER", "unknown driver")
    total, free = local_memory(files)
    if slot.endswith(_IGPU_SLOT):
        return None, (f"Intel: {name} at {slot} is an integrated GPU sharing system RAM; not counted as a GPU "
                      "(the CPU and RAM estimate covers it)")
    if not total:
        return None, (f"Intel: {name} ({driver}) at {slot} reports no local memory (xe tile*/{_TILE_FILE} or "
                      "i915 lmem_total_bytes); skipped (an older kernel or driver?)")
    return Device(name=name, vendor="intel", kind="discrete", memory_total_bytes=total,
                  memory_free_bytes=free, index=index), None
