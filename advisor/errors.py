"""The one error type a user can cause, and the exit codes it maps to."""

from __future__ import annotations

from enum import IntEnum


class ExitCode(IntEnum):
    """Documented exit codes (docs/json.md)."""

    OK = 0
    ERROR = 1  # unexpected internal failure
    USAGE = 2  # bad option value, unknown model or GPU name
    CATALOG = 3  # the catalog (shipped or user-supplied) is invalid
    PROBE = 4  # hardware probing failed in a way that leaves nothing to work with
    HUB = 5  # the Hugging Face Hub could not answer: unreachable, timed out, gated, or offline with no cached copy
    INTERRUPTED = 130  # Ctrl-C (128 + SIGINT), as shells report it


class AdvisorError(Exception):
    """An error with a message meant for the user."""

    exit_code: ExitCode = ExitCode.ERROR
    kind: str = "error"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class UsageError(AdvisorError):
    """A value the user typed is not valid."""

    exit_code = ExitCode.USAGE
    kind = "usage"


class UnknownNameError(UsageError):
    """A model or GPU name that the catalog does not know."""

    kind = "unknown_name"

    def __init__(self, what: str, name: str, suggestions: tuple[str, ...], known: tuple[str, ...] = ()) -> None:
        hint = f" Did you mean: {', '.join(suggestions)}?" if suggestions else ""
        listed = f" Known: {', '.join(known)}." if known else ""  # short lists only (file types), never models or GPUs
        super().__init__(f"unknown {what} {name!r}.{hint}{listed}")
        self.suggestions = suggestions


class UnknownRepoError(UsageError):
    """A Hugging Face repo the Hub does not have (or hides: private or gated repos without a token look missing)."""

    kind = "unknown_repo"


class CatalogError(AdvisorError):
    """The catalog is invalid; the message names file, entry and field."""

    exit_code = ExitCode.CATALOG
    kind = "catalog"


class HubError(AdvisorError):
    """A named Hugging Face repo could not be read; `kind` says why (offline, gated, timeout, unreachable)."""

    exit_code = ExitCode.HUB

    def __init__(self, kind: str, message: str) -> None:
        super().__init__(message)
        self.kind = kind
