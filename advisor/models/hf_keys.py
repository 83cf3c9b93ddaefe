"""Typed reads of one config.json mapping that remember which key served each field, so errors name it. Pure."""

from __future__ import annotations

from typing import Any, NoReturn

from advisor.errors import UsageError
from advisor.models.record import as_int


class Config:
    """A config.json mapping (or its text_config); `keys` maps builder fields to the keys that were read."""

    def __init__(self, data: dict[str, Any], source: str, prefix: str = "", keys: dict[str, str] | None = None) -> None:
        self.data, self.source, self.prefix = data, source, prefix
        self.keys: dict[str, str] = {} if keys is None else keys

    def fail(self, key: str, problem: str) -> NoReturn:
        """A UsageError naming `path: field: problem`."""
        raise UsageError(f"{self.source}: {key}: {problem}")

    def child(self, name: str) -> Config | None:
        """A nested mapping (e.g. linear_attn_config), sharing the key record."""
        value = self.data.get(name)
        return Config(value, self.source, f"{self.prefix}{name}.", self.keys) if isinstance(value, dict) else None

    def get(self, field: str, *names: str) -> Any:
        """The first of `names` present (not null); records it as the key of `field`."""
        for name in names:
            value = self.data.get(name)
            if value is not None:
                self.keys[field] = self.prefix + name
                return value
        return None

    def whole(self, field: str, *names: str, default: int | None = None) -> int | None:
        """A non-negative whole number; anything else present is an error naming its key."""
        value = self.get(field, *names)
        return default if value is None else as_int(value, self.keys[field], self.fail)

    def flag(self, *names: str, default: bool = False) -> bool:
        value = self.get(names[0], *names)
        if value is None:
            return default
        if not isinstance(value, bool):
            self.fail(self.keys[names[0]], f"expected true or false, got {value!r}"[:200])
        return value

    def items(self, field: str, *names: str) -> list[Any] | None:
        value = self.get(field, *names)
        if value is not None and not isinstance(value, list | str):
            self.fail(self.keys[field], f"expected a list, got {type(value).__name__}")
        return value if value is None else list(value)
