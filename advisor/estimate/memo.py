"""An estimator's memo of pure results: what one object (a model, a machine) or the catalog's facts alone give,
computed once. A cache owned by the object that fills it, never by the facts (docs/architecture.md)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")


class Memo:
    def __init__(self) -> None:
        self._memo: dict[tuple[Any, ...], tuple[object, Any]] = {}

    def memo(self, owner: object, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """A pure function of (owner, key), computed once; keyed by the owner object itself (a model or a machine),
        kept alive beside its id, so two objects that share an id or a name never share a result (and the id of an
        object kept here, such as an interned room, stays its own for the memo's life)."""
        full = (id(owner), *key)
        hit = self._memo.get(full)
        if hit is None or hit[0] is not owner:
            hit = self._memo[full] = (owner, compute())
        value: T = hit[1]
        return value

    def shared(self, key: tuple[Any, ...], compute: Callable[[], T]) -> T:
        """A pure function of catalog facts alone (no model), computed once per memo."""
        hit = self._memo.get(key)
        if hit is None:
            hit = self._memo[key] = (None, compute())
        value: T = hit[1]
        return value
