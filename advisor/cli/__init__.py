"""The command line. Only this package imports typer; commands are thin adapters over the core.

One error funnel, main(): a user error is one line on stderr (and an envelope with --json) and an exit code.
"""

from __future__ import annotations

import gc
import os
import sys
from contextlib import AbstractContextManager
from typing import Any

from advisor.errors import AdvisorError, ExitCode


def command_names() -> list[str]:
    """Every command typer knows, in the order --help lists them (docs/cli.md, the registry test)."""
    from advisor.cli.app import app

    _register()
    return [_name(c) for c in app.registered_commands]


# the module that defines each command, in the order --help lists them (a test keeps it equal to what typer holds)
MODULES: dict[str, tuple[str, ...]] = {
    "run": ("hardware", "recommend", "estimate"),
    "browse": ("models", "gpus", "model", "validate", "local", "doctor"),
    "plan": ("compare", "plan", "calibrate"),
    "serve": ("serve",),
    "hub": ("add",),
}


_SEEN: list[Any] = []  # every command registered so far (typer's own list is narrowed to the one being run)


def _register(args: list[str] | None = None) -> None:
    """Import the command modules and hand typer only the command being run (typer builds every registered command
    before it parses: about 10 ms for a module's others), or every command for --help and anything unexpected."""
    from importlib import import_module

    from advisor.cli.app import app

    first = next((a for a in args or () if not a.startswith("-")), None)
    only = [m for m, names in MODULES.items() if first in names]
    if not only or "--help" in (args or ()):
        only = list(MODULES)
    for module in only:
        import_module(f"advisor.cli.{module}")
    _remember(app)
    narrow = len(only) == 1 and "--help" not in (args or ())
    app.registered_commands[:] = _ordered([c for c in _SEEN if not narrow or _name(c) == first])


def _unnarrow() -> None:
    """Give typer every command registered so far again (after a run in this process: tests call main() often),
    including those of a command module first imported during the run (a command importing another's helpers)."""
    from advisor.cli.app import app

    _remember(app)
    app.registered_commands[:] = _ordered(_SEEN)


def _remember(app: Any) -> None:
    """Add the commands typer holds now that are not yet among those registered so far."""
    _SEEN.extend(c for c in app.registered_commands if all(c is not s for s in _SEEN))


def _ordered(commands: list[Any]) -> list[Any]:
    """In the order --help lists them (MODULES); any other command last."""
    order = [name for names in MODULES.values() for name in names]
    return sorted(commands, key=lambda c: order.index(_name(c)) if _name(c) in order else len(order))


def _name(command: Any) -> str:
    return str(command.name or (command.callback.__name__ if command.callback else ""))


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; user errors become one line on stderr and an exit code.

    Called without `argv` it is the process's own command (the console script, `python -m advisor`): a run that
    lasts a fraction of a second, so the cyclic garbage collector stays off and the interpreter's teardown is
    skipped once the output is flushed (together about 7 % of start-up, docs/architecture.md "Start-up")."""
    entry = argv is None
    args = sys.argv[1:] if argv is None else argv
    if entry:
        gc.disable()
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 terminal gets '?' for a character it lacks, never a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    code = 0
    try:
        with _kept_code():
            from advisor.cli.app import app

            _register(args)
            try:
                code = app(args=args, prog_name="advisor", standalone_mode=False) or 0  # typer returns Exit's code
            finally:
                _unnarrow()
    except BrokenPipeError:
        from advisor.cli.app import broken_pipe

        broken_pipe()
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as err:
        _handle(args, err)
    _finish(int(code) if isinstance(code, int) else 0, entry=entry)


def _kept_code() -> AbstractContextManager[None]:
    """The code dataclasses generate, compiled once per Python and kept in the cache folder (advisor.codecache)."""
    from advisor.codecache import kept
    from advisor.paths import cache_dir

    return kept(cache_dir())


def _finish(code: int, *, entry: bool = False) -> None:
    """Flush stdout here, where a closed pipe or a full disk still has a clean way out, then exit (a process's own
    command without the interpreter's teardown: nothing is left to write once both streams are flushed)."""
    from advisor.cli.app import broken_pipe, unwritable

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        broken_pipe()
    except OSError as err:
        unwritable(err)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    if entry:
        sys.stderr.flush()
        os._exit(code)
    if code:
        sys.exit(code)


def _handle(args: list[str], err: Exception) -> None:
    """Map every failure to one line on stderr and an exit code; a traceback only with ADVISOR_DEBUG."""
    import errno
    import os

    from typer.exceptions import Abort, Exit, TyperException

    from advisor.cli.app import fail

    if isinstance(err, AdvisorError):
        fail(args, err.kind, err.message, err.exit_code)
    elif isinstance(err, Exit):
        sys.exit(err.exit_code)
    elif isinstance(err, Abort):  # Ctrl-C at a prompt, or typer.Abort
        sys.exit(ExitCode.INTERRUPTED)
    elif isinstance(err, TyperException) and type(err).__name__ == "NoArgsIsHelpError":
        from advisor.cli.app import guarded

        guarded(lambda: sys.stdout.write(err.format_message() + "\n"))
        sys.exit(0)
    elif isinstance(err, TyperException):
        fail(args, "usage", err.format_message(), ExitCode.USAGE)
    elif isinstance(err, OSError) and err.filename is None and err.errno in (errno.ENOSPC, errno.EIO):
        # a write that names no file: typer's own --help output into a full disk
        from advisor.cli.app import unwritable

        unwritable(err)
    elif os.environ.get("ADVISOR_DEBUG"):
        raise err
    else:  # a bug of ours
        fail(args, "internal", f"internal error ({type(err).__name__}: {err}); rerun with ADVISOR_DEBUG=1 "
             "for the traceback and report it", ExitCode.ERROR)

