"""`python -m advisor`."""

from __future__ import annotations

from advisor.cli import main

main()
