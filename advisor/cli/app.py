"""The typer app, its shared options, and the helpers every command uses."""

from __future__ import annotations

import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer

from advisor import __version__
from advisor.errors import ExitCode, UsageError
from advisor.present.emit import FORMATS
from advisor.text import safe

if TYPE_CHECKING:
    from advisor.estimate.estimator import Estimator
    from advisor.estimate.machine import Machine
    from advisor.plan.recommend import Request
    from advisor.present.view import View
    from advisor.specs.facts import Catalog

app = typer.Typer(no_args_is_help=True, rich_markup_mode=None, pretty_exceptions_enable=False,
                  help="Which LLMs fit on your hardware, and how fast they will run (llama.cpp estimates).")

# typer reads Optional[...] on Python 3.10, so the UP045 rewrite to `X | None` is not applied in option types
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON envelope (docs/json.md); same as --format json.")]
FormatOpt = Annotated[str, typer.Option("--format", help="table, json, csv or markdown.")]
GpuOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--gpu", help='Assume these GPUs instead of probing: "RTX 4090", "2x RTX 3090", "4090+3090", "M4 Max 128GB", '
                  '"Ryzen AI Max+ 395", "24GB@1008GBps", "none"; at most 16 GPUs in all (docs/cli.md).')]
RamOpt = Annotated[Optional[str], typer.Option("--ram", help="Assume this much system RAM, e.g. 64GB.")]  # noqa: UP045
RamBwOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--ram-bandwidth", help="System RAM bandwidth: GB/s (e.g. 90) or a configuration such as ddr5-6000-2ch.")]
VramOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--vram", help="A custom GPU's memory, e.g. 24GB (with --bandwidth).")]
BandwidthOpt = Annotated[Optional[float], typer.Option(  # noqa: UP045
    "--bandwidth", help="A custom GPU's memory bandwidth in GB/s, above 0 and at most 100000 (with --vram).")]
CoresOpt = Annotated[Optional[int], typer.Option(  # noqa: UP045
    "--cpu-cores", help="Assume this many CPU cores (llama.cpp's threads): they bound CPU decode and set CPU prefill.")]
def _tokens(text: str | int) -> int:
    """--context and --depth: 8192, 8k, 128k or 1M; the option's own default arrives as an int."""
    from advisor.units import parse_tokens

    if isinstance(text, int):
        return text
    try:
        return parse_tokens(text)
    except ValueError as err:
        raise typer.BadParameter(str(err)) from None


ContextOpt = Annotated[Optional[int], typer.Option(  # noqa: UP045
    "--context", parser=_tokens, metavar="TOKENS",
    help="Context length in tokens: 8192, 8k, 128k or 1M (k = 1024, M = 1048576) "
         "[default: 8192, or enough for --depth].")]
UseOpt = Annotated[Optional[str], typer.Option(  # noqa: UP045
    "--use", help="Rank by published scores for: coding, reasoning, general, vision, long-context.")]
KvOpt = Annotated[str, typer.Option(
    "--kv-cache", help="KV cache type: f16, bf16, q8_0, q5_1, q5_0, q4_1, q4_0 (llama.cpp -ctk/-ctv).")]
ParallelOpt = Annotated[int, typer.Option(
    "--parallel", help="Sequences served at once (llama-server --parallel); they share the context.")]
ExplainOpt = Annotated[bool, typer.Option(
    "--explain", help="Show each speed's range and basis (bytes per token, bandwidth, efficiency, fixed cost).")]
DepthOpt = Annotated[int, typer.Option(
    "--depth", parser=_tokens, metavar="TOKENS",
    help="Tokens already in context when decoding starts, like --context: 4096 or 4k (0 = llama-bench tg128).")]
PromptOpt = Annotated[Optional[int], typer.Option(  # noqa: UP045
    "--prompt", parser=_tokens, metavar="TOKENS",
    help="Prompt length, like --context: 2048 or 2k: prefill is the rate over it (attention across the prompt "
         "included) and the time to first token is shown.")]
SplitOpt = Annotated[str, typer.Option(
    "--split-mode", help="How llama.cpp spreads a model over several GPUs (-sm): layer (each GPU runs its layers in "
                         "turn) or tensor (every layer split across the GPUs, all at once).")]


def _version(value: bool) -> None:
    if value:
        guarded(lambda: sys.stdout.write(f"advisor {__version__}\n"))
        raise typer.Exit()


@app.callback()
def _root(ctx: typer.Context,
          version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                                help="Show the version and exit.")] = False,
          catalog: Annotated[Optional[Path], typer.Option(  # noqa: UP045
              "--catalog", help="A folder of extra catalog YAML (models/, gpus/, scores.yaml), see docs/catalog.md.")
          ] = None,
          gpu_margin: Annotated[Optional[str], typer.Option(  # noqa: UP045
              "--gpu-margin", help="Memory to leave free on every GPU [default: 1GiB, like llama.cpp --fit].")
          ] = None) -> None:
    """Which LLMs fit on your hardware, and how fast they will run."""
    ctx.obj = {"catalog": catalog, "gpu_margin": gpu_margin}


def load(ctx: typer.Context) -> Catalog:
    from dataclasses import replace

    from advisor.catalog.load import load_catalog, unread_files, user_catalog_dirs
    from advisor.units import parse_size

    options = ctx.find_root().obj or {}
    dirs = user_catalog_dirs(options.get("catalog"))
    catalog = load_catalog(extra_dirs=dirs)
    for path in unread_files(dirs):
        sys.stderr.write(f"advisor: warning: {safe(str(path))} is not read: catalog files go in models/, gpus/ or "
                         "measurements/, or are one of scores.yaml, gguf_sizes.yaml (docs/catalog.md)\n")
    if options.get("gpu_margin") is not None:
        margin = options["gpu_margin"]
        margin_bytes = 0 if margin.strip() in ("0", "0GB", "0GiB") else parse_size(margin)
        catalog = replace(catalog, defaults=replace(catalog.defaults, gpu_margin_bytes=margin_bytes))
    return catalog


def estimator(catalog: Catalog) -> Estimator:
    """The estimator every sizing command uses: the catalog's fitted constants and the user's own calibration.

    A calibration store that cannot be used never stops a command: it is set aside with one warning on stderr
    (advisor.speed.store) and the estimates go on uncalibrated."""
    from advisor.estimate.constants import SpeedTable
    from advisor.estimate.estimator import Estimator
    from advisor.speed.store import load_local_calibration

    return Estimator(catalog, SpeedTable(catalog.speed_fit, catalog.defaults, load_local_calibration()))


def gpu_spec(gpu: str | None, vram: str | None, bandwidth: float | None) -> str | None:
    """--vram/--bandwidth are another spelling of a custom --gpu 'SIZE@BW'; each is checked under its own name."""
    from advisor.estimate.grammar import check_bandwidth
    from advisor.units import GIB, parse_size

    if vram is None and bandwidth is None:
        return gpu
    if vram is None or bandwidth is None or gpu is not None:
        raise UsageError("--vram and --bandwidth go together, and replace --gpu")
    try:
        size = parse_size(vram)
    except UsageError as err:
        raise UsageError(f"--vram: {err.message}") from None
    check_bandwidth(bandwidth, "--bandwidth")
    return f"{size / GIB!r}GiB@{bandwidth!r}"


def machine(catalog: Catalog, gpu: str | None, ram: str | None, ram_bandwidth: str | None,
            cpu_cores: int | None = None) -> Machine:
    from dataclasses import replace

    from advisor.estimate.machine import hypothetical, ram_bandwidth_from, resolve
    from advisor.hardware import probe
    from advisor.units import parse_size

    ram_bytes = parse_size(ram) if ram is not None else None
    bandwidth = ram_bandwidth_from(ram_bandwidth, catalog) if ram_bandwidth is not None else None
    if bandwidth is None and ram_bytes is None:  # this machine's RAM: measured once on first use, then cached
        bandwidth = measured_ram_bandwidth() or measured_ram_bandwidth(measure=True, first_use=True)
    probed = None if (gpu is not None and ram_bytes is not None) else probe(gpus=gpu is None)
    hw = hypothetical(probed, catalog, gpu=gpu, ram_bytes=ram_bytes)
    if cpu_cores is not None:
        if not 1 <= cpu_cores <= 4096:
            raise UsageError(f"--cpu-cores must be between 1 and 4096, got {cpu_cores}")
        hw = replace(hw, source="hypothetical", cpu_physical_cores=cpu_cores, cpu_logical_cores=None)
    return resolve(hw, catalog, ram_bandwidth=bandwidth)


def measured_ram_bandwidth(measure: bool = False, first_use: bool = False) -> tuple[float, str] | None:
    """This machine's RAM read bandwidth: cached from an earlier measurement, or measured now (about a second)."""
    from advisor.hardware import rambw
    from advisor.paths import cache_dir

    try:
        found = rambw.measure_and_cache(cache_dir()) if measure else rambw.cached(cache_dir())
    except (OSError, ValueError, RuntimeError):  # no room for the buffer, no processes: keep the stated assumption
        return None
    if found is None:
        return None
    when = "measured on first use" if first_use else "measured"
    return float(found["gbps"]), (f"{when} on this machine on {found['date']} and cached (advisor hardware "
                                  "--measure-ram measures again; --ram-bandwidth overrides)")


KV_TYPES = {"f16": "F16", "bf16": "BF16", "q8_0": "Q8_0", "q5_1": "Q5_1", "q5_0": "Q5_0", "q4_1": "Q4_1",
            "q4_0": "Q4_0"}


def request(context: int | None, depth: int, use: str | None = None, kv_cache: str = "f16",
            parallel: int = 1, prompt: int | None = None, split_mode: str = "layer") -> Request:
    from advisor.plan.recommend import Request
    from advisor.plan.uses import check_use

    pinned = context is not None
    if context is None:  # room for the tokens already there, the prompt and a reply
        context = max(Request().context_tokens, depth + (prompt or 0) + 1024)
    if kv_cache.lower() not in KV_TYPES:
        raise UsageError(f"--kv-cache must be one of {', '.join(KV_TYPES)}, got {kv_cache!r}")
    if not 1 <= parallel <= 256:
        raise UsageError(f"--parallel must be between 1 and 256, got {parallel}")
    if not 1 <= context <= 16_777_216:
        raise UsageError(f"--context must be between 1 and 16777216 tokens, got {context}")
    if not 0 <= depth <= context:
        raise UsageError(f"--depth must be between 0 and the context ({context}), got {depth}")
    if prompt is not None and not 1 <= prompt <= context - depth:
        raise UsageError(f"--prompt must be between 1 and the context less --depth ({context - depth}), got {prompt}")
    if split_mode.lower() == "row":
        raise UsageError("--split-mode row is gone from llama.cpp's CUDA and ROCm builds (PR 24216, 2026-06: "
                         "'-sm tensor has all of the necessary features to make it obsolete'); use tensor")
    if split_mode.lower() not in ("layer", "tensor"):
        raise UsageError(f"--split-mode must be layer or tensor, got {split_mode!r}")
    return Request(context_tokens=context, depth_tokens=depth, use=check_use(use),
                   kv_cache_type=KV_TYPES[kv_cache.lower()], sequences=parallel, context_pinned=pinned,
                   prompt_tokens=prompt, split_mode=split_mode.lower())


def output_format(json_: bool, fmt: str) -> str:
    """--json, or --format's value checked; the format every writer of present.emit knows."""
    fmt = "json" if json_ else fmt.lower()
    if fmt not in FORMATS:
        raise UsageError(f"--format must be one of {', '.join(FORMATS)}, got {fmt!r}")
    return fmt


def console() -> Any:
    import os

    from rich.console import Console

    from advisor.present.emit import PIPE_WIDTH

    class QuietConsole(Console):
        def on_broken_pipe(self) -> None:  # rich's own handler exits 1; a closed reader (`| head`) is no failure
            broken_pipe()

    plain = not sys.stdout.isatty() or bool(os.environ.get("NO_COLOR"))
    out = QuietConsole(highlight=False, markup=False, emoji=False, no_color=plain,
                       color_system=None if plain else "auto")
    if not out.is_terminal:  # a pipe or file: lines whole, tables at their natural width up to PIPE_WIDTH
        out.width = PIPE_WIDTH
    return out  # a terminal keeps its own width, however wide (present/emit.py)


def broken_pipe() -> None:
    """stdout's reader went away: point stdout at devnull so the exit flush stays quiet, and exit 0."""
    _stdout_to_devnull()
    sys.exit(0)


def unwritable(err: OSError) -> None:
    """stdout cannot be written (a full disk, /dev/full): one line on stderr and exit 1, never a traceback."""
    _stdout_to_devnull()
    sys.stderr.write(f"advisor: error: cannot write the output: {err.strerror or err}\n")
    sys.exit(int(ExitCode.ERROR))


def _stdout_to_devnull() -> None:
    import contextlib
    import os

    devnull = os.open(os.devnull, os.O_WRONLY)
    with contextlib.suppress(OSError, ValueError):  # no file descriptor (a test's capture): nothing left to flush
        os.dup2(devnull, sys.stdout.fileno())


def show(view: View, fmt: str) -> None:
    """Every command's output goes through here: the one emitter, on stdout, with this CLI's console.

    Write errors end here too, before typer's own handler (which exits 1 on a closed pipe) sees them.
    """
    from advisor.present.emit import emit

    guarded(lambda: emit(view, fmt, out=sys.stdout, console=console))


def guarded(write: Callable[[], object]) -> None:
    """Run a write to stdout and flush it: a closed reader exits 0 quietly, an unwritable stdout exits 1."""
    try:
        write()
        sys.stdout.flush()
    except BrokenPipeError:
        broken_pipe()
    except OSError as err:
        unwritable(err)


ROOT_OPTIONS_WITH_VALUES = ("--catalog", "--gpu-margin")


def command_name(argv: list[str]) -> str:
    """The command in argv, skipping the root options and their values."""
    skip = False
    for arg in argv:
        if skip or arg.startswith("-"):
            skip = arg in ROOT_OPTIONS_WITH_VALUES
            continue
        return arg
    return "advisor"


def wants_json(argv: list[str]) -> bool:
    """--json, --format json, --format=json, or a command whose default output is JSON (doctor)."""
    from advisor.present.registry import BY_NAME

    formats = [value.lower() for flag, value in zip(argv, [*argv[1:], ""], strict=True) if flag == "--format"]
    formats += [arg.split("=", 1)[1].lower() for arg in argv if arg.startswith("--format=")]
    if "--json" in argv or "json" in formats:
        return True
    entry = BY_NAME.get(command_name(argv))
    return not formats and entry is not None and entry.default_format == "json"


def fail(args: list[str], kind: str, message: str, code: int) -> None:
    """A user error: the envelope on stdout when JSON was asked for, one line on stderr, and the exit code."""
    if wants_json(args):
        from advisor.present.envelope import dumps, envelope, error_dict

        data = envelope(command_name(args), machine=None, results=[], errors=[error_dict(kind, message, int(code))])
        try:
            sys.stdout.write(dumps(data) + "\n")
            sys.stdout.flush()
        except OSError:  # stdout is gone or full: the line on stderr still says what went wrong
            _stdout_to_devnull()
    line = safe(message)  # a name or path from a file never drives the terminal, and stays on one line
    sys.stderr.write(f"advisor: error: {line[:2000]}{'…' if len(line) > 2000 else ''}\n")
    sys.exit(int(code))
