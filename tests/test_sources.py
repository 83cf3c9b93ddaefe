"""Every `source:` in the shipped catalog cites a host that is not on the deny-list of aggregators, AI-written
mirrors and pages known to print wrong figures (docs/catalog.md: primary sources only)."""

from __future__ import annotations

from pathlib import Path
from typing import Any, Final
from urllib.parse import urlsplit

import yaml

from advisor.catalog.load import catalog_root

# The one deny-list. A host here never sources a catalog fact, whatever the page says:
DENIED_HOSTS: Final[dict[str, str]] = {
    # pages found to print wrong figures (shared docs/SOURCES.md, "Sources found wrong")
    "apxml.com": "wrong layers/heads for Qwen3-8B, Gemma 3 27B, MiniMax M2, Qwen3-30B-A3B",
    "gpu.blog": "wrong MI300X FP16 figure",
    "codesota.com": "wrong MI300X FP16 figure",
    # AI-written summaries and mirrors of other pages: they restate, and sometimes garble, a primary source
    "grokipedia.com": "AI-written encyclopedia",
    "aggregoctt.github.io": "AI-written mirror of news articles",
    "lzwjava.github.io": "personal AI-assisted notes restating vendor tables",
    "manuals.plus": "re-hosted copies of vendor documents with their own summaries",
    "nextvisionframe.com": "AI-written mirror of news articles",
    "nyongesasande.com": "AI-written mirror of news articles",
    "prepmusiclog.com": "AI-written mirror of news articles",
    "duckittech.com": "AI-written mirror of news articles",
    "fbhtechinfo.com": "AI-written mirror of news articles",
    "holynerdvana.blogspot.com": "personal blog restating spec sheets",
    "ai-infrastructure.net": "unofficial summary site",
    # spec aggregators and comparison pages that restate other databases (often with their own errors)
    "technical.city": "comparison site restating other databases",
    "hmc-tech.com": "comparison site restating other databases",
    "cputronic.com": "comparison site restating other databases",
    "topcpu.net": "comparison site restating other databases",
    "hardware-corner.net": "comparison blog restating other pages",
    # shop and sales pages
    "pangoly.com": "price-comparison shop",
    "scan.co.uk": "retailer",
    "thundercompute.com": "cloud vendor's sales blog",
}


def denied(url: str) -> str | None:
    """The reason a source URL is refused, or None: its host, or a parent domain of it, is on the deny-list."""
    host = (urlsplit(url).hostname or "").lower().removeprefix("www.")
    for name, reason in DENIED_HOSTS.items():
        if host == name or host.endswith("." + name):
            return reason
    return None


def _sources(node: Any, where: str) -> list[tuple[str, str]]:
    if isinstance(node, dict):
        found = [(where, node["source"])] if isinstance(node.get("source"), str) else []
        return found + [hit for key, value in node.items() for hit in _sources(value, f"{where} › {key}")]
    if isinstance(node, list):
        return [hit for index, item in enumerate(node) for hit in _sources(item, f"{where}[{index}]")]
    return []


def test_the_deny_list_matches_hosts_and_their_subdomains_only() -> None:
    assert denied("https://grokipedia.com/page/NVIDIA_L4_vs_L40S") is not None
    assert denied("https://www.apxml.com/models/qwen3-8b") is not None
    assert denied("https://cdn.manuals.plus/m/x") is not None
    assert denied("https://www.nvidia.com/en-us/data-center/l4/") is None
    assert denied("https://notgpu.blog.example.org/x") is None  # the name inside another host is not a match


def test_no_catalog_source_cites_a_denied_host() -> None:
    root = catalog_root()
    offenders = []
    for path in sorted(Path(root).rglob("*.yaml")):
        data = yaml.safe_load(path.read_text(encoding="utf-8"))
        for where, url in _sources(data, str(path.relative_to(root))):
            reason = denied(url)
            if reason is not None:
                offenders.append(f"{where}: {url} ({reason})")
    assert offenders == []
