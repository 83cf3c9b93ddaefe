"""Strict reading of one YAML mapping: every error names file › entry › field. Pure."""

from __future__ import annotations

import math
from collections.abc import Iterable
from typing import Any, NoReturn, TypeVar

from advisor.errors import CatalogError

T = TypeVar("T")
_MISSING = object()


class Fields:
    """Typed, range-checked access to a mapping; unknown keys are errors at `done()`."""

    def __init__(self, data: object, where: str) -> None:
        if not isinstance(data, dict):
            self.fail("", f"expected a mapping, got {type(data).__name__}", where)
        self.data: dict[str, Any] = data
        self.where = where
        self.seen: set[str] = set()

    @staticmethod
    def fail(field: str, problem: str, where: str) -> NoReturn:
        path = f"{where} › {field}" if field else where
        raise CatalogError(f"{path}: {problem}")

    def _get(self, key: str, kinds: tuple[type, ...], required: bool) -> Any:
        self.seen.add(key)
        value = self.data.get(key, _MISSING)
        if value is _MISSING or value is None:
            if required:
                self.fail(key, "missing (required)", self.where)
            return None
        if isinstance(value, bool) and bool not in kinds:
            self.fail(key, f"expected {_names(kinds)}, got a boolean", self.where)
        if not isinstance(value, kinds):
            self.fail(key, f"expected {_names(kinds)}, got {type(value).__name__} {value!r}", self.where)
        return value

    def text(self, key: str, *, required: bool = True) -> str | None:
        value = self._get(key, (str,), required)
        if value is not None and not value.strip():
            self.fail(key, "must not be empty", self.where)
        return value  # type: ignore[no-any-return]

    def req_text(self, key: str) -> str:
        value = self.text(key)
        assert value is not None
        return value

    def choice(self, key: str, allowed: Iterable[str]) -> str:
        """A required text that must be one of `allowed`."""
        value, names = self.req_text(key), tuple(allowed)
        if value not in names:
            self.fail(key, f"one of {', '.join(names)}", self.where)
        return value

    def integer(self, key: str, *, required: bool = True, minimum: int = 0) -> int | None:
        value = self._get(key, (int,), required)
        if value is not None and value < minimum:
            self.fail(key, f"must be >= {minimum}, got {value}", self.where)
        return value  # type: ignore[no-any-return]

    def req_int(self, key: str, *, minimum: int = 1) -> int:
        value = self.integer(key, minimum=minimum)
        assert value is not None
        return value

    def number(self, key: str, *, required: bool = True, minimum: float = 0.0,
               maximum: float | None = None) -> float | None:
        value = self._get(key, (int, float), required)
        if value is None:
            return None
        if not math.isfinite(value):
            self.fail(key, f"must be a finite number, got {value}", self.where)
        if value < minimum or (maximum is not None and value > maximum):
            bounds = f"between {minimum} and {maximum}" if maximum is not None else f">= {minimum}"
            self.fail(key, f"must be {bounds}, got {value}", self.where)
        return float(value)

    def flag(self, key: str, *, default: bool) -> bool:
        value = self._get(key, (bool,), False)
        return default if value is None else bool(value)

    def strings(self, key: str) -> tuple[str, ...]:
        value = self._get(key, (list,), False)
        if value is None:
            return ()
        for item in value:
            if not isinstance(item, str | int | float) or isinstance(item, bool):
                self.fail(key, f"expected a list of strings, found {item!r}", self.where)
        return tuple(str(item) for item in value)

    def mapping(self, key: str, *, required: bool = False) -> Fields | None:
        value = self._get(key, (dict,), required)
        return None if value is None else Fields(value, f"{self.where} › {key}")

    def items(self, key: str) -> list[Any]:
        value = self._get(key, (list,), False)
        return [] if value is None else list(value)

    def source(self, key: str = "source") -> str:
        value = self.req_text(key)
        if not value.startswith(("https://", "http://")):
            self.fail(key, f"must be a URL, got {value!r}", self.where)
        return value

    def only(self, keys: frozenset[str]) -> None:
        """Reject unknown keys up front, so a typo is reported before what it hides."""
        unknown = sorted(set(self.data) - keys)
        if unknown:
            self.fail(unknown[0], "unknown key", self.where)

    def done(self) -> None:
        unknown = sorted(set(self.data) - self.seen)
        if unknown:
            self.fail(unknown[0], "unknown key", self.where)


def _names(kinds: tuple[type, ...]) -> str:
    return " or ".join("number" if k is float else k.__name__ for k in kinds if k is not int or float not in kinds)
