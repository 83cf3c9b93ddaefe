"""Strict reading of one YAML mapping; the reader lives in advisor.models.fields (models read catalog entries)."""

from __future__ import annotations

from advisor.models.fields import Fields

__all__ = ["Fields"]
