"""Linux sysfs helpers shared by the AMD and Intel probes: DRM cards, their files, and PCI names.

The readers (read_text, drm_cards, read_card, pci_ids_name_from) do the I/O; uevent() and pci_ids_name() are pure.
A missing file is None; any other OSError (permission denied, EIO from a dying card) is recorded as a message.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Iterable
from pathlib import Path
from typing import Any, Final

from advisor.specs import Device

Raw = dict[str, Any]
PCI_IDS: Final = ("usr/share/hwdata/pci.ids", "usr/share/misc/pci.ids", "usr/share/pci.ids")
_CARD = re.compile(r"card(\d+)")


def read_text(path: Path, errors: list[str]) -> str | None:
    """A sysfs file's stripped text; None when absent; other failures appended to `errors`."""
    try:
        with path.open(encoding="utf-8", errors="replace") as handle:
            return handle.read(65536).strip()
    except FileNotFoundError:
        return None
    except OSError as err:
        errors.append(f"{path.name}: {err.strerror or type(err).__name__}")
        return None


def drm_cards(root: Path, vendor: str) -> list[Path]:
    """/sys/class/drm/card<N> folders (connectors such as card0-DP-1 excluded) whose PCI vendor is `vendor`."""
    try:
        found = [(int(m.group(1)), p) for p in (root / "sys/class/drm").iterdir() if (m := _CARD.fullmatch(p.name))]
    except OSError:
        return []
    return [card for _, card in sorted(found) if read_text(card / "device/vendor", []) == vendor]


def read_card(card: Path, names: Iterable[str]) -> Raw:
    """The named files (paths relative to the card folder) as text, plus any read errors."""
    errors: list[str] = []
    files = {name: read_text(card / name, errors) for name in names}
    return {"card": card.name, "files": files, "errors": errors}


def uevent(text: str | None) -> dict[str, str]:
    """KEY=value lines of a sysfs uevent file (DRIVER, PCI_SLOT_NAME, PCI_ID...)."""
    pairs = (line.split("=", 1) for line in (text or "").splitlines() if "=" in line)
    return {key.strip(): value.strip() for key, value in pairs}


def pci_ids_name_from(root: Path, vendor: str, device: str | None, subsystem: str | None) -> str | None:
    """The device's name in the system's pci.ids database, when installed."""
    if not device:
        return None
    for rel in PCI_IDS:
        try:
            with (root / rel).open(encoding="utf-8", errors="replace") as lines:
                return pci_ids_name(lines, vendor, device, subsystem)
        except OSError:
            continue
    return None


def _hex(value: str) -> str:
    return value.strip().lower().removeprefix("0x")


def subsystem_id(vendor: str | None, device: str | None) -> str | None:
    """pci.ids' subsystem key ('1002 0e3b') from sysfs subsystem_vendor / subsystem_device, when both exist."""
    return f"{_hex(vendor)} {_hex(device)}" if vendor and device else None


def pci_ids_name(lines: Iterable[str], vendor: str, device: str, subsystem: str | None = None) -> str | None:
    """Subsystem name when listed ('1002 0e3b'), else the device name, from pci.ids lines."""
    vendor_line, device_line = _hex(vendor) + " ", _hex(device) + " "
    sub_line = f"{subsystem.lower()} " if subsystem else None
    section, name = "", None
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        if not line.startswith("\t"):
            if section:
                break
            section = "vendor" if line.startswith(vendor_line) else ""
        elif section and not line.startswith("\t\t"):
            if name is not None:
                break
            name = _after_id(line) if line[1:].startswith(device_line) else None
        elif name is not None and sub_line and line[2:].lower().startswith(sub_line):
            return _after_id(line)
    return name


def _after_id(line: str) -> str:
    parts = line.strip().split("  ", 1)
    return parts[1].strip() if len(parts) == 2 else line.strip()


def display_name(vendor_word: str, pci_name: str | None, device_id: str | None) -> str:
    """'DG2 [Arc A770]' -> 'Intel Arc A770'; an ambiguous bracket ('7900 XT/7900 XTX') keeps the whole name."""
    if not pci_name:
        return f"{vendor_word} GPU {device_id or 'unknown'}"
    bracket = re.search(r"\[([^\]]+)\]", pci_name)
    if bracket and "/" not in bracket.group(1):
        return f"{vendor_word} {bracket.group(1)}"
    return pci_name if pci_name.startswith(vendor_word) else f"{vendor_word} {pci_name}"


def to_int(text: str | None) -> int | None:
    """An integer sysfs value, or None when absent or not a number."""
    try:
        value = (text or "").strip()
        return int(value, 16) if value.lower().startswith("0x") else int(value) if value else None
    except ValueError:
        return None


def parse_cards(raw: dict[str, Any], label: str, device: Callable[..., tuple[Device | None, str | None]]
                ) -> tuple[tuple[Device, ...], tuple[str, ...]]:
    """The loop AMD and Intel share: each card's read errors as notes, its device (if any) and its note."""
    devices: list[Device] = []
    notes: list[str] = []
    for item in raw.get("cards", []):
        notes += [f"{label}: {item.get('card')}: could not read {error}" for error in item.get("errors", [])]
        found, note = device(item, index=len(devices))
        if found is not None:
            devices.append(found)
        if note:
            notes.append(note)
    return tuple(devices), tuple(notes)
