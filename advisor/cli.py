"""The command line. Parses options, calls the core, picks the renderer; one error funnel in main()."""

from __future__ import annotations

import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from advisor import __version__
from advisor.errors import AdvisorError, ExitCode, UsageError

if TYPE_CHECKING:
    from advisor.catalog import Catalog
    from advisor.machine import Machine
    from advisor.recommend import Request

app = typer.Typer(add_completion=False, no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="Which LLMs fit on your hardware, and how fast they will run (llama.cpp estimates).")

JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON envelope (docs/json.md).")]
GpuOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045 - typer reads Optional on Python 3.10
    "--gpu", help='Assume these GPUs instead of probing: "RTX 4090", "2x RTX 3090", "M4 Max 128GB", "none".')]
RamOpt = Annotated[Optional[str], typer.Option("--ram", help="Assume this much system RAM, e.g. 64GB.")]  # noqa: UP045
RamBwOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--ram-bandwidth", help="System RAM bandwidth: GB/s (e.g. 90) or a configuration such as ddr5-6000-2ch.")]
ContextOpt = Annotated[int, typer.Option("--context", help="Context length in tokens.")]
UseOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--use", help="Rank by published scores for: coding, reasoning, general, vision, long-context.")]
DepthOpt = Annotated[int, typer.Option(
    "--depth", help="Tokens already in context when decoding starts (0 = llama-bench tg128).")]


def _version(value: bool) -> None:
    if value:
        print(f"advisor {__version__}")
        raise typer.Exit()


@app.callback()
def _root(ctx: typer.Context,
          version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False,
          catalog: Annotated[Optional[Path], typer.Option(  # noqa: UP045
              "--catalog", help="A folder of extra catalog YAML (models/, gpus/, scores.yaml), see docs/catalog.md.")
          ] = None) -> None:
    """Which LLMs fit on your hardware, and how fast they will run."""
    ctx.obj = catalog


def _load(ctx: typer.Context) -> Catalog:
    from advisor.catalog import load_catalog, user_catalog_dirs

    return load_catalog(extra_dirs=user_catalog_dirs(ctx.find_root().obj))


def _machine(catalog: Catalog, gpu: str | None, ram: str | None, ram_bandwidth: str | None) -> Machine:
    from advisor.hardware import probe
    from advisor.machine import hypothetical, ram_bandwidth_from, resolve
    from advisor.units import parse_size

    ram_bytes = parse_size(ram) if ram is not None else None
    bandwidth = ram_bandwidth_from(ram_bandwidth, catalog) if ram_bandwidth is not None else None
    probed = None if (gpu is not None and ram_bytes is not None) else probe(gpus=gpu is None)
    return resolve(hypothetical(probed, catalog, gpu=gpu, ram_bytes=ram_bytes), catalog, ram_bandwidth=bandwidth)


def _request(context: int, depth: int, use: str | None = None) -> Request:
    from advisor.recommend import Request
    from advisor.uses import check_use

    if not 1 <= context <= 16_777_216:
        raise UsageError(f"--context must be between 1 and 16777216 tokens, got {context}")
    if not 0 <= depth <= context:
        raise UsageError(f"--depth must be between 0 and the context ({context}), got {depth}")
    return Request(context_tokens=context, depth_tokens=depth, use=check_use(use))


def _console() -> Any:
    from rich.console import Console

    console = Console(highlight=False)
    # a pipe or file gets the full 120 columns; a terminal keeps its own width up to 120
    console.width = min(console.width, 120) if console.is_terminal else 120
    return console


def _emit(command: str, machine: Machine | None, results: list[dict[str, Any]], **extra: Any) -> None:
    from advisor.report import dumps, envelope

    sys.stdout.write(dumps(envelope(command, machine=machine, results=results, **extra)) + "\n")


@app.command()
def hardware(ctx: typer.Context, json_: JsonOpt = False, gpu: GpuOpt = None, ram: RamOpt = None,
             ram_bandwidth: RamBwOpt = None) -> None:
    """Show the hardware advisor sees (probed, or as given with --gpu/--ram)."""
    catalog = _load(ctx)
    machine = _machine(catalog, gpu, ram, ram_bandwidth)
    if json_:
        _emit("hardware", machine, [])
        return
    from advisor.render import render_hardware

    render_hardware(_console(), machine)


@app.command()
def recommend(ctx: typer.Context, json_: JsonOpt = False, gpu: GpuOpt = None, ram: RamOpt = None,
              ram_bandwidth: RamBwOpt = None, context: ContextOpt = 8192, depth: DepthOpt = 0,
              use: UseOpt = None) -> None:
    """For each catalog model: the best quantization that fits, where it runs and how fast."""
    from advisor.recommend import recommend as run
    from advisor.uses import USES

    catalog = _load(ctx)
    request = _request(context, depth, use)
    machine = _machine(catalog, gpu, ram, ram_bandwidth)
    estimates = run(machine, catalog, request)
    ranking = {"use": use, "benchmarks": list(USES[use]) if use else []}
    if json_:
        from advisor.report import estimate_dict

        _emit("recommend", machine, [estimate_dict(e, depth) for e in estimates], ranking=ranking)
        return
    from advisor.render import render_estimates

    by = f", ranked for {use} by {' then '.join(USES[use]) or 'context length'}" if use else ", best first"
    render_estimates(_console(), machine, estimates, show_model=True, show_score=bool(use),
                     title=f"Best quantization per model at {context:,} tokens of context{by}")


@app.command()
def estimate(ctx: typer.Context, model: Annotated[str, typer.Argument(help="Model id or alias, e.g. qwen3.5-35b-a3b.")],
             json_: JsonOpt = False, gpu: GpuOpt = None, ram: RamOpt = None, ram_bandwidth: RamBwOpt = None,
             quant: Annotated[Optional[str], typer.Option(  # noqa: UP045
                 "--quant", help="One file type (e.g. Q4_K_M); default: all.")] = None,
             context: ContextOpt = 8192, depth: DepthOpt = 0) -> None:
    """The detailed estimate for one model: each quantization's memory, placement and speed."""
    from advisor.recommend import estimate as run
    from advisor.recommend import estimate_recipes

    catalog = _load(ctx)
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


@app.command()
def models(ctx: typer.Context, json_: JsonOpt = False,
           family: Annotated[Optional[str], typer.Option("--family", help="e.g. qwen3.5, gemma-3")] = None,  # noqa: UP045
           moe: Annotated[Optional[bool], typer.Option("--moe/--dense", help="Only MoE or only dense models.")  # noqa: UP045
                          ] = None,
           min_params: Annotated[Optional[float], typer.Option("--min-params", help="Billions, e.g. 7.")] = None,  # noqa: UP045
           max_params: Annotated[Optional[float], typer.Option("--max-params", help="Billions, e.g. 32.")] = None,  # noqa: UP045
           use: UseOpt = None) -> None:
    """List the catalog's models (filtered), or rank them by a use's published scores."""
    from advisor.uses import check_use, eligible, sort_key, use_score

    catalog = _load(ctx)
    check_use(use)
    low, high = (min_params or 0) * 1e9, (max_params or float("inf")) * 1e9
    chosen = [m for m in catalog.models if (family is None or m.family == family.lower())
              and (moe is None or m.is_moe == moe) and low <= m.params_total <= high and eligible(m, use)]
    rows = [(m, use_score(m, use) if use else None) for m in chosen]
    if use:
        rows.sort(key=lambda row: sort_key(row[1]))
    if json_:
        from advisor.report_catalog import model_dict

        _emit("models", None, [model_dict(m, score) for m, score in rows])
        return
    from advisor.render_catalog import render_models

    render_models(_console(), rows, use)


@app.command()
def gpus(ctx: typer.Context, json_: JsonOpt = False,
         vendor: Annotated[Optional[str], typer.Option("--vendor", help="nvidia, amd, intel or apple")] = None,  # noqa: UP045
         min_memory: Annotated[Optional[str], typer.Option("--min-memory", help="e.g. 24GB")] = None) -> None:  # noqa: UP045
    """List the catalog's GPUs and unified-memory machines."""
    from advisor.units import parse_size

    catalog = _load(ctx)
    floor = parse_size(min_memory) if min_memory else 0
    chosen = [g for g in catalog.gpus if (vendor is None or g.vendor == vendor.lower())
              and max((g.memory_bytes, *g.memory_options_bytes)) >= floor]
    if json_:
        from advisor.report_catalog import gpu_dict

        _emit("gpus", None, [gpu_dict(g) for g in chosen])
        return
    from advisor.render_catalog import render_gpus

    render_gpus(_console(), chosen)


@app.command()
def model(ctx: typer.Context, name: Annotated[str, typer.Argument(help="Model id or alias.")],
          json_: JsonOpt = False) -> None:
    """Every fact the catalog holds about one model, each with its source."""
    spec = _load(ctx).model(name)
    if json_:
        from advisor.report_catalog import model_dict

        _emit("model", None, [model_dict(spec)])
        return
    from advisor.render_catalog import render_model

    render_model(_console(), spec)


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
    except Exception as err:  # a bug of ours: one line, and the traceback only on request
        import os

        if os.environ.get("ADVISOR_DEBUG"):
            raise
        _fail(args, "internal", f"internal error ({type(err).__name__}: {err}); rerun with ADVISOR_DEBUG=1 "
              "for the traceback and report it", ExitCode.ERROR)


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
