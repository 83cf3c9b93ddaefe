"""Fuzz the GGUF reading path: mutate a valid file and check that every result is a clean GgufError or a read.

Usage: python bench/fuzz_gguf.py [--seconds 60] [--seed 1]. Prints executions and findings (any other exception,
or a read that takes longer than 2 s). Needs the test extras (gguf, numpy).
"""

from __future__ import annotations

import argparse
import random
import signal
import struct
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from advisor.models.gguf import model_from_gguf  # noqa: E402
from advisor.models.gguf_read import GgufError, read_gguf  # noqa: E402
from tests.test_gguf import write_model  # noqa: E402


def mutate(data: bytes, rng: random.Random) -> bytes:
    out = bytearray(data)
    choice = rng.randrange(5)
    if choice == 0:  # flip bytes anywhere in the header region
        for _ in range(rng.randint(1, 16)):
            out[rng.randrange(4, min(len(out), 8192))] = rng.randrange(256)
    elif choice == 1:  # a big or negative-looking 64-bit count or length at a random header offset
        at = rng.randrange(4, min(len(out), 4096) - 8)
        out[at:at + 8] = struct.pack("<Q", rng.choice([2**31, 2**32 - 1, 2**63 - 1, 2**64 - 1, 10**9]))
    elif choice == 2:  # truncate
        del out[rng.randrange(4, len(out)):]
    elif choice == 3:  # duplicate a slice
        a = rng.randrange(len(out))
        out[a:a] = out[a:a + rng.randrange(1, 512)]
    else:  # change a type tag (small integers) in the metadata
        at = rng.randrange(24, min(len(out), 4096))
        out[at] = rng.choice([0, 1, 4, 6, 8, 9, 10, 12, 13, 255])
    return bytes(out)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--seed", type=int, default=1)
    args = parser.parse_args()
    rng = random.Random(args.seed)
    folder = Path(tempfile.mkdtemp())
    good = folder / "good.gguf"
    write_model(good, arch="qwen3moe", experts=4)
    seed = good.read_bytes()
    target = folder / "case.gguf"
    signal.signal(signal.SIGALRM, lambda *_: (_ for _ in ()).throw(TimeoutError("read took more than 2 s")))
    runs = clean = read_ok = 0
    findings: list[str] = []
    deadline = time.monotonic() + args.seconds
    while time.monotonic() < deadline:
        target.write_bytes(mutate(seed, rng))
        runs += 1
        signal.alarm(2)
        try:
            model_from_gguf(read_gguf(target), "case")
            read_ok += 1
        except GgufError:
            clean += 1
        except Exception as err:  # a finding: record the input
            saved = folder / f"finding-{len(findings)}.gguf"
            saved.write_bytes(target.read_bytes())
            findings.append(f"{type(err).__name__}: {err} ({saved})")
        finally:
            signal.alarm(0)
    print(f"GGUF fuzz: {runs} executions in {args.seconds:.0f} s: {clean} clean errors, {read_ok} readable, "
          f"{len(findings)} findings")
    for finding in findings[:20]:
        print("  finding:", finding)


if __name__ == "__main__":
    main()
