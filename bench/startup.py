"""Start-up of `advisor`, alone and paired against llmfit (a peer) on the same machine.

Usage: python bench/startup.py [--runs N] [--llmfit PATH]. Run it with the project installed (the `advisor` command
on PATH). Prints the median wall time of `advisor --help` and `advisor recommend --json`; with llmfit (on PATH or
given) also the median of the per-pair ratios advisor / llmfit for `recommend --json` (runs alternate A B A B, so
a machine that speeds up or slows down during the bench moves both sides), and `advisor compare <every catalog
GPU> --json --ram 64GB` against one `llmfit recommend --json`. Budgets (issue 12): recommend at most 0.65x llmfit,
compare-all at most 5x.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

COMMANDS = (["--help"], ["recommend", "--json"], ["recommend", "--json", "--gpu", "RTX 4090", "--ram", "64GB"])


def seconds(argv: list[str]) -> float:
    start = time.perf_counter()
    subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=False)
    return time.perf_counter() - start


def median_seconds(argv: list[str], runs: int) -> float:
    return statistics.median(seconds(argv) for _ in range(runs))


def paired_ratio(a: list[str], b: list[str], runs: int) -> tuple[float, float, float]:
    """Median of A/B over alternating pairs, with the medians of A and B."""
    pairs = [(seconds(a), seconds(b)) for _ in range(runs)]
    return (statistics.median(x / y for x, y in pairs), statistics.median(x for x, _ in pairs),
            statistics.median(y for _, y in pairs))


def compile_package(base: list[str]) -> None:
    """Write the .pyc files of the advisor package that `base` runs, as an installed copy has them."""
    python = sys.executable if base[0] == sys.executable else _interpreter(base[0])
    where = subprocess.run([python, "-c", "import advisor, os; print(os.path.dirname(advisor.__file__))"],
                           capture_output=True, text=True, check=True).stdout.strip()
    subprocess.run([python, "-m", "compileall", "-q", where], stdout=subprocess.DEVNULL, check=True)


def _interpreter(script: str) -> str:
    """The Python a console script runs (its #! line)."""
    with open(script, encoding="utf-8", errors="replace") as f:
        first = f.readline()
    return first[2:].strip() if first.startswith("#!") else sys.executable


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    parser.add_argument("--llmfit", default=shutil.which("llmfit"), help="llmfit executable (default: on PATH)")
    args = parser.parse_args()
    exe = shutil.which("advisor")
    base = [exe] if exe else [sys.executable, "-m", "advisor"]
    # byte-compile the package first: pip does so at install, but an editable install whose sources changed (or a shell
    # with PYTHONDONTWRITEBYTECODE=1) would otherwise compile every changed module on every run
    compile_package(base)
    # a cache folder of its own, as a fresh install has: the user's may hold code kept for earlier versions of the
    # sources (one version number spans a developer's edits), which every run would read and not use
    os.environ["ADVISOR_CACHE_DIR"] = tempfile.mkdtemp(prefix="advisor-bench-cache-")
    median_seconds([*base, "--help"], 2)  # warm the file cache and the catalog cache
    median_seconds([*base, "recommend", "--json"], 1)  # ... and the dataclass code the commands use
    for command in COMMANDS:
        print(f"advisor {' '.join(command):<50} median {median_seconds([*base, *command], args.runs) * 1000:7.1f} ms "
              f"over {args.runs} runs")
    if not args.llmfit:
        print("llmfit not found (pass --llmfit PATH): no paired ratios")
        return
    peer = [args.llmfit, "recommend", "--json"]
    ratio, ours, theirs = paired_ratio([*base, "recommend", "--json"], peer, args.runs)
    print(f"recommend --json: advisor {ours * 1000:.0f} ms, llmfit {theirs * 1000:.0f} ms, "
          f"paired ratio {ratio:.3f} (budget 0.65)")
    listing = subprocess.run([*base, "gpus", "--json"], capture_output=True, text=True, check=True).stdout
    ids = [g["id"] for g in json.loads(listing)["results"]]
    every = [*base, "compare", *ids, "--json", "--ram", "64GB"]
    seconds(every)  # its dataclass code kept, as on any later run
    ratio, ours, theirs = paired_ratio(every, peer, max(3, args.runs // 3))
    print(f"compare {len(ids)} GPUs x every model: advisor {ours:.2f} s, one llmfit run {theirs:.2f} s, "
          f"paired ratio {ratio:.2f} (budget 5)")


if __name__ == "__main__":
    main()
