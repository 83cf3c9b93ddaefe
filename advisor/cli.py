"""The command line. Parses options, calls the core, picks the renderer; one error funnel in main()."""

from __future__ import annotations

import sys
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from advisor import __version__
from advisor.errors import AdvisorError, ExitCode, UsageError

if TYPE_CHECKING:
    from advisor.catalog import Catalog
    from advisor.machine import Machine
    from advisor.recommend import Request

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None,
                  help="Which LLMs fit on your hardware, and how fast they will run (llama.cpp estimates).")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON envelope (docs/json.md).")]
GpuOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045 - typer reads Optional on Python 3.10
    "--gpu", help='Assume these GPUs instead of probing: "RTX 4090", "2x RTX 3090", "M4 Max 128GB", "none".')]
RamOpt = Annotated[Optional[str], typer.Option("--ram", help="Assume this much system RAM, e.g. 64GB.")]  # noqa: UP045
RamBwOpt = Annotated[Optional[float], typer.Option(  # noqa: UP045
    "--ram-bandwidth", help="System RAM bandwidth in GB/s (default: an assumed typical desktop figure).")]
ContextOpt = Annotated[int, typer.Option("--context", help="Context length in tokens.")]
DepthOpt = Annotated[int, typer.Option(
    "--depth", help="Tokens already in context when decoding starts (0 = llama-bench tg128).")]


def _version(value: bool) -> None:
    if value:
        print(f"advisor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False) -> None:
    """Which LLMs fit on your hardware, and how fast they will run."""


def _load() -> Catalog:
    from advisor.catalog import load_catalog

    return load_catalog()


def _machine(catalog: Catalog, gpu: str | None, ram: str | None, ram_bandwidth: float | None) -> Machine:
    from advisor.hardware import probe
    from advisor.machine import hypothetical, resolve
    from advisor.units import parse_size

    ram_bytes = parse_size(ram) if ram is not None else None
    if ram_bandwidth is not None and ram_bandwidth <= 0:
        raise UsageError("--ram-bandwidth must be a positive number of GB/s")
    probed = None if (gpu is not None and ram_bytes is not None) else probe(gpus=gpu is None)
    return resolve(hypothetical(probed, catalog, gpu=gpu, ram_bytes=ram_bytes), catalog,
                   ram_bandwidth_gbps=ram_bandwidth)


def _request(context: int, depth: int) -> Request:
    from advisor.recommend import Request

    if not 1 <= context <= 16_777_216:
        raise UsageError(f"--context must be between 1 and 16777216 tokens, got {context}")
    if not 0 <= depth <= context:
        raise UsageError(f"--depth must be between 0 and the context ({context}), got {depth}")
    return Request(context_tokens=context, depth_tokens=depth)


def _console() -> Any:
    from rich.console import Console

    console = Console(highlight=False)
    # a pipe or file gets the full 120 columns; a terminal keeps its own width up to 120
    console.width = min(console.width, 120) if console.is_terminal else 120
    return console


def _emit(command: str, machine: Machine, results: list[dict[str, Any]], **extra: Any) -> None:
    from advisor.report import dumps, envelope

    sys.stdout.write(dumps(envelope(command, machine=machine, results=results, **extra)) + "\n")


@app.command()
def hardware(json_: JsonOpt = False, gpu: GpuOpt = None, ram: RamOpt = None,
             ram_bandwidth: RamBwOpt = None) -> None:
    """Show the hardware advisor sees (probed, or as given with --gpu/--ram)."""
    catalog = _load()
    machine = _machine(catalog, gpu, ram, ram_bandwidth)
    if json_:
        _emit("hardware", machine, [])
        return
    from advisor.render import render_hardware

    render_hardware(_console(), machine)


@app.command()
def recommend(json_: JsonOpt = False, gpu: GpuOpt = None, ram: RamOpt = None, ram_bandwidth: RamBwOpt = None,
              context: ContextOpt = 8192, depth: DepthOpt = 0) -> None:
    """For each catalog model: the best quantization that fits, where it runs and how fast."""
    from advisor.recommend import recommend as run

    catalog = _load()
    request = _request(context, depth)
    machine = _machine(catalog, gpu, ram, ram_bandwidth)
    estimates = run(machine, catalog, request)
    if json_:
        from advisor.report import estimate_dict

        _emit("recommend", machine, [estimate_dict(e, depth) for e in estimates])
        return
    from advisor.render import render_estimates

    render_estimates(_console(), machine, estimates, show_model=True,
                     title=f"Best quantization per model at {context:,} tokens of context, best first")


@app.command()
def estimate(model: Annotated[str, typer.Argument(help="Model id or alias, e.g. qwen3.5-35b-a3b.")],
             json_: JsonOpt = False, gpu: GpuOpt = None, ram: RamOpt = None, ram_bandwidth: RamBwOpt = None,
             quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
                 "--quant", help="One file type (e.g. Q4_K_M); default: all.")] = None,
             context: ContextOpt = 8192, depth: DepthOpt = 0) -> None:
    """The detailed estimate for one model: each quantization's memory, placement and speed."""
    from advisor.recommend import estimate as run
    from advisor.recommend import estimate_recipes

    catalog = _load()
    spec = catalog.model(model)
    request = _request(context, depth)
    machine = _machine(catalog, gpu, ram, ram_bandwidth)
    recipes = estimate_recipes(spec, machine, catalog, quant)
    estimates = [run(spec, r, machine, catalog, request) for r in recipes]
    if json_:
        from advisor.report import estimate_dict

        _emit("estimate", machine, [estimate_dict(e, depth) for e in estimates])
        return
    from advisor.render import render_estimates

    render_estimates(_console(), machine, estimates, show_model=False,
                     title=f"{spec.name} at {context:,} tokens of context (depth {depth:,})")


def _command_name(argv: list[str]) -> str:
    return next((a for a in argv if not a.startswith("-")), "advisor")


def main(argv: list[str] | None = None) -> None:
    """Entry point: run the app; user errors become one line on stderr and an exit code."""
    from typer.exceptions import Abort, Exit, TyperException

    args = sys.argv[1:] if argv is None else argv
    try:
        app(args=args, prog_name="advisor", standalone_mode=False)
    except AdvisorError as err:
        _fail(args, err.kind, err.message, err.exit_code)
    except Exit as done:
        sys.exit(done.exit_code)
    except Abort:
        sys.exit(130)
    except TyperException as err:
        if type(err).__name__ == "NoArgsIsHelpError":
            sys.stdout.write(err.format_message() + "\n")
            sys.exit(0)
        _fail(args, "usage", err.format_message(), ExitCode.USAGE)
    except BrokenPipeError:
        _quiet_broken_pipe()
    except KeyboardInterrupt:
        sys.exit(130)


def _fail(args: list[str], kind: str, message: str, code: int) -> None:
    if "--json" in args:
        from advisor.report import dumps, envelope, error_dict

        sys.stdout.write(dumps(envelope(_command_name(args), machine=None, results=[],
                                        errors=[error_dict(kind, message, int(code))])) + "\n")
    sys.stderr.write(f"advisor: error: {message}\n")
    sys.exit(int(code))


def _quiet_broken_pipe() -> None:
    import os

    # stdout's reader went away (e.g. `| head`); point stdout at devnull so the exit flush stays quiet
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(0)
