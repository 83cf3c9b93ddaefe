"""`advisor compare` across every catalog GPU for every catalog model: wall time.

Usage: python bench/compare_all.py [--runs N]. Prints the in-process median (catalog already loaded) and the
median of the whole command line (`advisor compare <every GPU id> --json --ram 64GB`, output discarded).
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import time

from advisor.catalog.load import load_catalog
from advisor.estimate.machine import hypothetical, resolve
from advisor.plan.compare import compare
from advisor.plan.recommend import Estimator, Request
from advisor.units import GIB


def in_process(runs: int) -> tuple[float, int]:
    times, cells = [], 0
    for _ in range(runs):
        catalog = load_catalog()
        start = time.perf_counter()
        labels = tuple(g.id for g in catalog.gpus)
        machines = tuple(resolve(hypothetical(None, catalog, gpu=g, ram_bytes=64 * GIB), catalog) for g in labels)
        result = compare(labels, machines, Estimator(catalog), Request(8192), catalog.models)
        times.append(time.perf_counter() - start)
        cells = len(result.rows) * len(labels)
    return statistics.median(times), cells


def command_line(runs: int) -> float:
    ids = [g.id for g in load_catalog().gpus]
    exe = shutil.which("advisor")
    argv = [*([exe] if exe else [sys.executable, "-m", "advisor"]), "compare", *ids, "--json", "--ram", "64GB"]
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        subprocess.run(argv, stdout=subprocess.DEVNULL, check=True)
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--runs", type=int, default=5)
    args = parser.parse_args()
    seconds, cells = in_process(args.runs)
    print(f"compare, every GPU x every model, in process: median {seconds:.2f} s ({cells} model x machine cells)")
    print(f"advisor compare <every GPU> --json, whole command: median {command_line(args.runs):.2f} s")


if __name__ == "__main__":
    main()
