"""The command line. Only this package imports typer; commands are thin adapters over the core.

One error funnel, main(): a user error is one line on stderr (and an envelope with --json) and an exit code.
"""

from __future__ import annotations

import sys

from advisor.errors import AdvisorError, ExitCode


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; user errors become one line on stderr and an exit code."""
    from importlib import import_module

    from advisor.cli.app import app

    for module in ("run", "browse", "plan"):  # registers the commands, in the order --help lists them
        import_module(f"advisor.cli.{module}")
    args = sys.argv[1:] if argv is None else argv
    for stream in (sys.stdout, sys.stderr):  # a non-UTF-8 terminal gets '?' for a character it lacks, never a crash
        reconfigure = getattr(stream, "reconfigure", None)
        if reconfigure is not None:
            reconfigure(errors="replace")
    try:
        app(args=args, prog_name="advisor", standalone_mode=False)
    except BrokenPipeError:
        from advisor.cli.app import broken_pipe

        broken_pipe()
    except KeyboardInterrupt:
        sys.exit(130)
    except Exception as err:
        _handle(args, err)


def _handle(args: list[str], err: Exception) -> None:
    """Map every failure to one line on stderr and an exit code; a traceback only with ADVISOR_DEBUG."""
    import os

    from typer.exceptions import Abort, Exit, TyperException

    from advisor.cli.app import fail

    if isinstance(err, AdvisorError):
        fail(args, err.kind, err.message, err.exit_code)
    elif isinstance(err, Exit):
        sys.exit(err.exit_code)
    elif isinstance(err, Abort):
        sys.exit(130)
    elif isinstance(err, TyperException) and type(err).__name__ == "NoArgsIsHelpError":
        sys.stdout.write(err.format_message() + "\n")
        sys.exit(0)
    elif isinstance(err, TyperException):
        fail(args, "usage", err.format_message(), ExitCode.USAGE)
    elif os.environ.get("ADVISOR_DEBUG"):
        raise err
    else:  # a bug of ours
        fail(args, "internal", f"internal error ({type(err).__name__}: {err}); rerun with ADVISOR_DEBUG=1 "
             "for the traceback and report it", ExitCode.ERROR)
