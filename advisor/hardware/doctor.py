"""`advisor doctor`: one report for bug reports — versions, what each probe saw raw, and the notes.

The user's name, the host's name and the home folder are replaced by placeholders everywhere in the report.
"""

from __future__ import annotations

import contextlib
import getpass
import importlib
import platform
import re
import socket
import sys
from importlib import metadata
from pathlib import Path
from typing import Any

from advisor.hardware.vendors import HOST_PROBE, probes_for

PACKAGES = ("advisor", "typer", "rich", "nvidia-ml-py", "psutil", "pyyaml", "gguf", "numpy")


def _version(package: str) -> str | None:
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return None


def _raw_probes() -> dict[str, Any]:
    raw: dict[str, Any] = {}
    for name in (*(v.probe for v in probes_for(sys.platform)), HOST_PROBE):
        try:
            module = importlib.import_module(f"advisor.hardware.{name}")
            reader = getattr(module, "read", None)
            raw[name] = _trim(reader() if reader else None)
        except Exception as err:  # a probe that fails is itself the information a bug report needs
            raw[name] = {"error": f"{type(err).__name__}: {err}"}
    return raw


def _trim(raw: Any) -> Any:
    """/proc/cpuinfo repeats every core: keep the first processor's block."""
    if isinstance(raw, dict) and isinstance(raw.get("cpuinfo"), str):
        raw = {**raw, "cpuinfo": raw["cpuinfo"].split("\n\n")[0]}
    return raw


def report() -> dict[str, Any]:
    from advisor.hardware import probe

    hardware = probe()
    data = {
        "python": sys.version.split()[0], "platform": platform.platform(), "machine": platform.machine(),
        "versions": {p: _version(p) for p in PACKAGES},
        "probes": _raw_probes(),
        "notes": list(hardware.notes),
    }
    redacted: dict[str, Any] = redact(data, _secrets())
    return redacted


def _secrets() -> dict[str, str]:
    found: dict[str, str] = {}
    with contextlib.suppress(RuntimeError):
        found[str(Path.home())] = "~"
    for getter, label in ((getpass.getuser, "<user>"), (socket.gethostname, "<host>")):
        try:
            value = getter()
        except Exception:  # no user name (containers) or host name: nothing to hide
            continue
        if value:
            found[value] = label
    return found


def redact(value: Any, secrets: dict[str, str]) -> Any:
    """Every string with the user's name, host name and home folder replaced, as whole words (longest first)."""
    if isinstance(value, str):
        for secret in sorted(secrets, key=len, reverse=True):
            value = re.sub(rf"(?<![\w.-]){re.escape(secret)}(?![\w-])", secrets[secret], value)
        return value
    if isinstance(value, dict):
        return {redact(k, secrets): redact(v, secrets) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [redact(v, secrets) for v in value]
    return value
