"""Which names are Hugging Face repos: ORG/REPO, hf.co/ORG/REPO, https://huggingface.co/ORG/REPO, and any of them
with :QUANT (Ollama's spelling, e.g. hf.co/unsloth/Qwen3-8B-GGUF:Q4_K_M). Pure."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Final

_PART: Final = r"[A-Za-z0-9](?:[A-Za-z0-9._-]{0,94}[A-Za-z0-9_])?"
_REPO: Final = re.compile(
    rf"^(?:https?://)?(?:(?:www\.)?huggingface\.co/|hf\.co/)?(?:models/)?({_PART})/({_PART})"
    r"(?:/(?:tree|blob|resolve)/[^:]*)?/?(?::([A-Za-z0-9._-]{1,64}))?$")


@dataclass(frozen=True, slots=True)
class HubRef:
    """A repo on the Hub and the file type asked for in the name (ORG/REPO:QUANT), if any."""

    repo_id: str
    quant: str | None = None

    @property
    def url(self) -> str:
        return f"https://huggingface.co/{self.repo_id}"


def parse_ref(text: str) -> HubRef | None:
    """The repo a name points to, or None when it is not a repo name (a catalog id, a file)."""
    match = _REPO.match(text.strip())
    if match is None or ".." in match.group(0) or text.lower().endswith((".gguf", ".json")):
        return None
    org, name, quant = match.groups()
    return HubRef(f"{org}/{name}", quant)
