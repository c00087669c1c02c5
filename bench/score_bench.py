"""Batch scoring throughput: 100,000 mixed responses through the pure scorers.

Run: .venv/bin/python bench/score_bench.py [N]
Prints responses per second for each instrument and for the mix, and the
ratio to the 100,000 scores per second the issue aims for. Not a test: figures
go to docs/performance.md with the machine they came from.
"""

from __future__ import annotations

import os
import platform
import random
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
# Import the pure package directly: no Django, as the score command's hot loop.
import types

pkg = types.ModuleType("outcomes")
pkg.__path__ = [str(Path(__file__).resolve().parents[1] / "outcomes")]
sys.modules.setdefault("outcomes", pkg)

from outcomes.instruments.definitions import INSTRUMENTS  # noqa: E402
from outcomes.instruments.scoring import score  # noqa: E402

TARGET = 100_000


def random_answers(code: str, rng: random.Random) -> dict:
    definition = INSTRUMENTS[code]
    answers = {item.code: rng.randint(item.min_value, item.max_value)
               for item in definition.items}
    if code == "odi" and rng.random() < 0.2:
        answers["sex_life"] = None
    return answers


def main() -> None:
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100_000
    rng = random.Random(7)
    codes = list(INSTRUMENTS)
    batch = [(codes[i % len(codes)], random_answers(codes[i % len(codes)], rng))
             for i in range(n)]
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} cores, "
          f"Python {platform.python_version()}")
    per_code = {}
    for code in codes:
        items = [a for c, a in batch if c == code]
        start = time.perf_counter()
        for answers in items:
            score(code, answers)
        elapsed = time.perf_counter() - start
        per_code[code] = len(items) / elapsed
        print(f"  {code:<10} {len(items):>7} responses  {per_code[code]:>10,.0f} /s")
    start = time.perf_counter()
    for code, answers in batch:
        score(code, answers)
    elapsed = time.perf_counter() - start
    rate = n / elapsed
    print(f"mixed: {n:,} responses in {elapsed:.2f} s = {rate:,.0f} responses/s "
          f"(ratio to the {TARGET:,}/s aim: {rate / TARGET:.2f})")


if __name__ == "__main__":
    main()
