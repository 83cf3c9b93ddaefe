"""advisor: which LLMs fit on this hardware, and how fast they will run."""

from __future__ import annotations

__version__ = "0.1.0"
