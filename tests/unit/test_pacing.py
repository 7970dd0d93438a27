"""The rate cap and claim sizes: pure logic, on a timer that only pretends to wait."""

from __future__ import annotations

import asyncio
import itertools

from digest.pacing import Pacer
from digest.sender import SendPolicy
from tests.support.outbox import FakeTimer


async def _slots(pacer: Pacer, timer: FakeTimer, count: int) -> list[float]:
    granted = []
    for _ in range(count):
        await pacer.acquire()
        granted.append(timer.now)
    return granted


async def test_messages_are_evenly_spaced_and_idle_time_earns_no_burst() -> None:
    timer = FakeTimer()
    pacer = Pacer(rate=4, timer=timer)

    first = await _slots(pacer, timer, 5)
    timer.now += 3600  # an hour idle, e.g. an outage
    after_idle = await _slots(pacer, timer, 5)

    for granted in (first, after_idle):
        gaps = [later - earlier for earlier, later in itertools.pairwise(granted)]
        assert gaps == [0.25] * 4
    assert after_idle[0] == first[-1] + 3600  # the first one goes at once, then paced


async def test_concurrent_lanes_share_one_cap() -> None:
    timer = FakeTimer()
    pacer = Pacer(rate=10, timer=timer)
    granted: list[float] = []

    async def lane() -> None:
        for _ in range(5):
            await pacer.acquire()
            granted.append(timer.now)

    await asyncio.gather(*(lane() for _ in range(4)))

    assert len(granted) == 20
    assert granted[-1] - granted[0] >= 1.9 - 1e-9  # 20 messages at 10/s: 19 gaps


async def test_a_rate_of_zero_never_waits() -> None:
    timer = FakeTimer()
    pacer = Pacer(rate=0, timer=timer)
    await _slots(pacer, timer, 100)
    assert timer.sleeps == []


def test_claims_are_sized_to_about_two_seconds_under_a_cap() -> None:
    assert SendPolicy(batch_size=100).claim_size() == 100
    assert SendPolicy(batch_size=100, rate=5, concurrency=4).claim_size() == 10
    assert SendPolicy(batch_size=100, rate=0.1, concurrency=4).claim_size() == 4
    assert SendPolicy(batch_size=100, rate=1000).claim_size() == 100
