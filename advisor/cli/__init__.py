"""The command line. Only this package imports typer; commands are thin adapters over the core.

One error funnel, main(): a user error is one line on stderr (and an envelope with --json) and an exit code.
"""

from __future__ import annotations

import sys

from advisor.errors import AdvisorError, ExitCode


def command_names() -> list[str]:
    """Every command typer knows, in the order --help lists them (docs/cli.md, the registry test)."""
    from advisor.cli.app import app

    _register()
    return [c.name or (c.callback.__name__ if c.callback else "") for c in app.registered_commands]


def _register() -> None:
    from importlib import import_module

    for module in ("run", "browse", "plan"):  # registers the commands, in the order --help lists them
        import_module(f"advisor.cli.{module}")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; user errors become one line on stderr and an exit code."""
    args = sys.argv[1:] if argv is None else argv
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 terminal gets '?' for a character it lacks, never a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    code = 0
    try:
        from advisor.cli.app import app

        _register()
        code = app(args=args, prog_name="advisor", standalone_mode=False) or 0  # typer returns Exit's code
    except BrokenPipeError:
        from advisor.cli.app import broken_pipe

        broken_pipe()
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
    except Exception as err:
        _handle(args, err)
    _finish(int(code) if isinstance(code, int) else 0)


def _finish(code: int) -> None:
    """Flush stdout here, where a closed pipe or a full disk still has a clean way out, then exit."""
    from advisor.cli.app import broken_pipe, unwritable

    try:
        sys.stdout.flush()
    except BrokenPipeError:
        broken_pipe()
    except OSError as err:
        unwritable(err)
    except KeyboardInterrupt:
        sys.exit(ExitCode.INTERRUPTED)
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

