"""Start-up time of `advisor --help` and `advisor recommend --json`, median of repeated runs.

Usage: python bench/startup.py [--runs N]. Run it with the project installed (the `advisor` command on PATH).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

COMMANDS = (["--help"], ["recommend", "--json"], ["recommend", "--json", "--gpu", "RTX 4090", "--ram", "64GB"])


def median_seconds(argv: list[str], runs: int) -> float:
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=15)
    args = parser.parse_args()
    exe = shutil.which("advisor")
    base = [exe] if exe else [sys.executable, "-m", "advisor"]
    median_seconds([*base, "--help"], 2)  # warm the file cache
    for command in COMMANDS:
        seconds = median_seconds([*base, *command], args.runs)
        print(f"advisor {' '.join(command):<50} median {seconds * 1000:7.1f} ms over {args.runs} runs")


if __name__ == "__main__":
    main()
