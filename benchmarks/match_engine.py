"""Match-engine CPU time per match at 100 / 1,000 / 10,000 active campaigns.

Run from the project root:  .venv/bin/python -m benchmarks.match_engine [--matches N] [--seed S]

Worlds and requests are seeded (benchmarks/worlds.py: realistic random targeting - categories, tags,
country/state/city/radius geo rules with excludes, blocklists, 0-8 affinities, 1-3 creatives, log-normal
CPM bids). Each match is timed alone around engine.match (pure CPU: no I/O), as thread CPU time
(time.thread_time_ns) and wall time (time.perf_counter_ns, which includes preemption on a busy machine);
the table reports p50 and p99 in microseconds for the indexed engine and, for comparison, the exhaustive
strategy (every campaign through every filter, no index, no pruning). Index build time is per snapshot.
"""

import argparse
import gc
import os
import platform
import random
import statistics
import sys
import time

from arbiter.ads.matching.engine import match
from arbiter.ads.matching.index import CampaignIndex
from benchmarks.worlds import build_world, random_request

SIZES = (100, 1_000, 10_000)


def _percentile(sorted_values: list[float], fraction: float) -> float:
    position = min(len(sorted_values) - 1, max(0, round(fraction * (len(sorted_values) - 1))))
    return sorted_values[position]


def time_matches(index: CampaignIndex, requests: list, seed: int, strategy: str) -> tuple[list, list, list]:
    """(sorted CPU µs, sorted wall µs, outcomes). CPU time is this thread's (time.thread_time_ns), so other
    processes competing for the machine do not inflate it; wall time is reported alongside."""
    rng = random.Random(seed)
    cpu, wall, outcomes = [], [], []
    gc.collect()
    gc.disable()  # a collection pause is not the engine's CPU time
    try:
        for request in requests:
            cpu_started, wall_started = time.thread_time_ns(), time.perf_counter_ns()
            outcome = match(index, request, rng, strategy=strategy)
            cpu.append((time.thread_time_ns() - cpu_started) / 1000)
            wall.append((time.perf_counter_ns() - wall_started) / 1000)
            outcomes.append(outcome)
    finally:
        gc.enable()
    return sorted(cpu), sorted(wall), outcomes


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--matches", type=int, default=2000, help="timed matches per world size")
    parser.add_argument("--seed", type=int, default=7)
    args = parser.parse_args(argv)

    command = ".venv/bin/python -m benchmarks.match_engine" + "".join(
        f" {a}" for a in (argv if argv is not None else sys.argv[1:])
    )
    rows = []
    for size in SIZES:
        world = build_world(args.seed, size)
        started = time.perf_counter()
        index = CampaignIndex(world.campaigns)
        build_ms = (time.perf_counter() - started) * 1000
        request_rng = random.Random(args.seed * 1000 + size)
        requests = [random_request(request_rng, world) for _ in range(args.matches)]
        time_matches(index, requests[:200], args.seed, "indexed")  # warm-up
        indexed, indexed_wall, outcomes = time_matches(index, requests, args.seed, "indexed")
        exhaustive_requests = requests[: max(50, args.matches // (10 if size >= 10_000 else 4))]
        exhaustive, _, exhaustive_outcomes = time_matches(index, exhaustive_requests, args.seed, "exhaustive")
        # Same seed, same requests: the exhaustive run must pick the same winners (the index is exact).
        for fast, slow in zip(outcomes, exhaustive_outcomes, strict=False):
            fast_id = fast.winner and (fast.winner.campaign_id, fast.winner.creative_id)
            slow_id = slow.winner and (slow.winner.campaign_id, slow.winner.creative_id)
            if fast_id != slow_id:
                raise SystemExit(f"indexed and exhaustive winners differ: {fast_id} != {slow_id}")
        rows.append(
            {
                "size": size,
                "build_ms": build_ms,
                "p50": _percentile(indexed, 0.50),
                "p99": _percentile(indexed, 0.99),
                "mean": statistics.fmean(indexed),
                "wall_p50": _percentile(indexed_wall, 0.50),
                "wall_p99": _percentile(indexed_wall, 0.99),
                "candidates": statistics.fmean(o.candidates for o in outcomes),
                "evaluated": statistics.fmean(o.evaluated for o in outcomes),
                "fill": sum(o.winner is not None for o in outcomes) / len(outcomes),
                "ex_p50": _percentile(exhaustive, 0.50),
                "ex_p99": _percentile(exhaustive, 0.99),
            }
        )

    print(f"Command: `{command}`  ")
    print(
        f"Python {platform.python_version()} on {platform.machine()} ({os.cpu_count()} CPUs, load average "
        f"{os.getloadavg()[0]:.1f}), {args.matches} timed matches per size, seed {args.seed}."
    )
    print()
    print(
        "| active campaigns | CPU p50 µs | CPU p99 µs | CPU mean µs | wall p50 µs | wall p99 µs "
        "| index candidates (mean) | evaluated (mean) | fill rate | exhaustive CPU p50 µs | exhaustive CPU p99 µs "
        "| index build ms |"
    )
    print("|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    for r in rows:
        print(
            f"| {r['size']:,} | {r['p50']:.0f} | {r['p99']:.0f} | {r['mean']:.0f} | {r['wall_p50']:.0f} "
            f"| {r['wall_p99']:.0f} | {r['candidates']:.0f} "
            f"| {r['evaluated']:.1f} | {r['fill']:.0%} | {r['ex_p50']:.0f} | {r['ex_p99']:.0f} | {r['build_ms']:.0f} |"
        )


if __name__ == "__main__":
    main()
