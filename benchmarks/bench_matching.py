"""Matching at scale: 100,000 subscribers x 3 queries against a day of 100 papers.

Run from the repository root (it reuses the test workload in tests/support/):

    .venv/bin/python -m benchmarks.bench_matching

It prints the machine's load before and after (the machine may be shared:
every time is given in wall-clock and in CPU seconds), the workload, then for
the indexed matcher (digest.matching.Matcher) and the naive reference (every
query as compiled regular expressions tried on every paper,
tests/support/naive_matching.py): compile seconds, match seconds, paper x
query pairs per second, and the ratio. The timed match is the whole of
``Matcher.match``: it returns every subscriber's list of Match objects, ranked,
nothing left to work out later (the read-back line times reading every field
of every match, as the pipeline does to enqueue them). It checks that both
give identical results for every subscriber (exit 1 when not), and measures
the matcher's peak memory with tracemalloc in a separate pass (so that tracing
does not slow the timed runs). ``--naive-subscribers N`` runs the naive
reference on the first N subscribers only (it takes minutes in full); its time
is then scaled to all subscribers and the comparison is made on those N.
"""

from __future__ import annotations

import argparse
import os
import random
import resource
import statistics
import sys
import time
import tracemalloc
from collections.abc import Callable
from typing import TypeVar

from digest.matching import Match, Matcher
from tests.support.matching_workload import Vocabulary, day_of_papers, random_query
from tests.support.naive_matching import NaiveMatcher

T = TypeVar("T")


def timed(action: Callable[[], T]) -> tuple[T, float, float]:
    """The result, wall-clock seconds and CPU seconds (the machine may be shared)."""
    started, cpu = time.perf_counter(), time.process_time()
    result = action()
    return result, time.perf_counter() - started, time.process_time() - cpu


def workload(
    subscribers: int, per_subscriber: int, papers: int, seed: int
) -> tuple[dict[int, list[str]], list]:
    day = day_of_papers(papers, seed=seed)
    vocabulary = Vocabulary.of(day)
    rng = random.Random(seed)
    queries = {
        subscriber: [random_query(rng, vocabulary) for _ in range(per_subscriber)]
        for subscriber in range(1, subscribers + 1)
    }
    return queries, day


def peak_memory(queries: dict[int, list[str]], day: list) -> tuple[float, float]:
    """MiB traced at the peak of compiling, and of compiling then matching."""
    tracemalloc.start()
    matcher = Matcher(queries)
    _, compiled_peak = tracemalloc.get_traced_memory()
    matcher.match(day)
    _, match_peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return compiled_peak / 2**20, match_peak / 2**20


def peak_rss_mib() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024  # KiB on Linux


def load() -> str:
    return ", ".join(f"{value:.2f}" for value in os.getloadavg())


def read_back(found: dict[int, list[Match]]) -> int:
    """Every field the pipeline reads of every match to enqueue it."""
    count = 0
    for matches in found.values():
        for match in matches:
            count += len(match.paper_id) + len(match.queries) + int(match.score)
    return count


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--subscribers", type=int, default=100_000)
    parser.add_argument("--queries-per-subscriber", type=int, default=3)
    parser.add_argument("--papers", type=int, default=100)
    parser.add_argument("--seed", type=int, default=4)
    parser.add_argument("--repeat", type=int, default=3, help="timed runs of the fast match")
    parser.add_argument("--naive-subscribers", type=int, default=None)
    args = parser.parse_args()

    print(f"machine: {os.cpu_count()} cores, load average {load()} (1, 5, 15 min) at the start")
    print(f"python {sys.version.split()[0]}")
    queries, day = workload(args.subscribers, args.queries_per_subscriber, args.papers, args.seed)
    total_queries = sum(len(texts) for texts in queries.values())
    pairs = total_queries * len(day)
    print(
        f"workload: {len(queries):,} subscribers, {total_queries:,} queries, "
        f"{len(day)} papers = {pairs:,} paper x query pairs"
    )

    matcher, compile_seconds, compile_cpu = timed(lambda: Matcher(queries))
    print(
        f"indexed: compiled in {compile_seconds:.2f} s ({compile_cpu:.2f} s CPU; "
        f"{matcher.distinct_queries:,} distinct queries, {len(matcher.rejected)} rejected)"
    )
    runs: list[tuple[float, float]] = []
    fast: dict[int, list[Match]] = {}
    for _ in range(args.repeat):
        del fast  # free the previous run's results outside the timed call
        fast, seconds, cpu = timed(lambda: matcher.match(day))
        runs.append((seconds, cpu))
    first, first_cpu = runs[0]
    matched_pairs = sum(len(found) for found in fast.values())
    median, median_cpu = (statistics.median(r[i] for r in runs) for i in (0, 1))
    print(
        f"indexed: matched in {first:.3f} s ({first_cpu:.3f} s CPU) first run; "
        f"median of {len(runs)} {median:.3f} s ({median_cpu:.3f} s CPU); "
        f"best {min(r[0] for r in runs):.3f} s ({min(r[1] for r in runs):.3f} s CPU)"
    )
    _, read_seconds, read_cpu = timed(lambda: read_back(fast))
    print(
        f"indexed: read back every match's paper, queries and score in {read_seconds:.3f} s "
        f"({read_cpu:.3f} s CPU)"
    )
    print(
        f"indexed: {pairs / first:,.0f} paper x query pairs/s; {len(fast):,} subscribers "
        f"matched, {matched_pairs:,} (subscriber, paper) matches"
    )
    compiled_mib, matched_mib = peak_memory(queries, day)
    print(
        f"indexed: peak memory (tracemalloc) {compiled_mib:.0f} MiB compiled, "
        f"{matched_mib:.0f} MiB while matching; process peak RSS {peak_rss_mib():.0f} MiB"
    )

    sample = args.naive_subscribers or len(queries)
    sampled = dict(list(queries.items())[:sample])
    naive_pairs = sum(len(texts) for texts in sampled.values()) * len(day)
    naive, naive_compile, _ = timed(lambda: NaiveMatcher(sampled))
    reference, naive_seconds, naive_cpu = timed(lambda: naive.match(day))
    scale = pairs / naive_pairs
    note = "" if sample == len(queries) else f" on {sample:,} subscribers, scaled to all"
    print(
        f"naive:   compiled in {naive_compile:.2f} s, matched in {naive_seconds * scale:.1f} s "
        f"({naive_cpu * scale:.1f} s CPU){note}; {naive_pairs / naive_seconds:,.0f} pairs/s"
    )
    print(
        f"ratio:   indexed is {naive_seconds * scale / first:.0f}x faster than naive "
        f"({naive_cpu * scale / first_cpu:.0f}x in CPU time) on its first run, "
        f"{naive_seconds * scale / median:.0f}x ({naive_cpu * scale / median_cpu:.0f}x) "
        "on its median run"
    )

    expected = {subscriber: found for subscriber, found in fast.items() if subscriber in sampled}
    if reference != expected:
        differing = sum(1 for s in sampled if reference.get(s) != expected.get(s))
        print(f"DIFFERENT RESULTS for {differing} subscribers", file=sys.stderr)
        print(f"machine: load average {load()} (1, 5, 15 min) at the end")
        return 1
    print(f"identical results for {len(sampled):,} subscribers")
    print(f"machine: load average {load()} (1, 5, 15 min) at the end")
    return 0


if __name__ == "__main__":
    sys.exit(main())
