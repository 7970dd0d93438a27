"""How fast the web pages answer: uvicorn on 127.0.0.1, a fresh SQLite file, emails to .eml files.

Prints the median and 95th percentile latency, one client at a time, of:
the subscribe form (GET /), a sign-up (POST /, CSRF-checked, one row and one
confirmation email each), the manage page (GET /manage/{token}), and the RFC 8058
one-click unsubscribe (POST /unsubscribe/{token}).

    .venv/bin/python benchmarks/bench_web.py [--requests 300]
"""

from __future__ import annotations

import argparse
import asyncio
import re
import statistics
import tempfile
import time
from collections.abc import Awaitable, Callable
from pathlib import Path

import httpx
from sqlalchemy import select

from digest import db as database
from digest.app import App
from digest.config import Settings
from digest.models import Subscriber
from digest.tokens import Purpose
from digest.web import create_app
from digest.web.server import bind, build_server


async def timed(count: int, request: Callable[[int], Awaitable[httpx.Response]]) -> list[float]:
    seconds = []
    for number in range(count):
        start = time.perf_counter()
        response = await request(number)
        seconds.append(time.perf_counter() - start)
        assert response.status_code == 200, (response.status_code, response.text[:200])
    return seconds


def report(name: str, seconds: list[float]) -> None:
    ms = sorted(s * 1000 for s in seconds)
    p95 = ms[int(len(ms) * 0.95) - 1]
    print(f"{name:<28} n={len(ms):<5} median {statistics.median(ms):6.2f} ms   p95 {p95:6.2f} ms")


async def main(count: int) -> None:
    with tempfile.TemporaryDirectory() as folder:
        sock = bind("127.0.0.1", 0)
        url = f"http://127.0.0.1:{sock.getsockname()[1]}"
        settings = Settings(
            database_url=f"sqlite+aiosqlite:///{Path(folder) / 'bench.db'}",
            outbox_dir=Path(folder) / "outbox",
            public_url=url,
            web_signup_rate_limit=f"{count * 10}/minute",
            web_form_rate_limit=f"{count * 10}/minute",
        )
        app = App.from_settings(settings)
        await database.upgrade(app.db.engine)
        server = build_server(create_app(app), trusted_proxies="127.0.0.1")
        task = asyncio.create_task(server.serve(sockets=[sock]))
        deadline = time.monotonic() + 10
        while not server.started:
            assert time.monotonic() < deadline, "the server did not start"
            await asyncio.sleep(0.01)
        try:
            async with httpx.AsyncClient(base_url=url) as client:
                form = await client.get("/")
                token = re.search(r'name="csrf_token" value="([^"]+)"', form.text)
                assert token
                report("GET /", await timed(count, lambda n: client.get("/")))
                report(
                    "POST / (sign-up)",
                    await timed(
                        count,
                        lambda n: client.post(
                            "/",
                            data={
                                "csrf_token": token.group(1),
                                "email": f"reader{n}@example.org",
                                "queries": '"speculative decoding"\nLLM agents',
                            },
                        ),
                    ),
                )
                async with app.db.transaction() as session:
                    people = (
                        await session.execute(
                            select(Subscriber.id, Subscriber.email).order_by(Subscriber.id)
                        )
                    ).all()
                sign = app.signer.sign
                report(
                    "GET /manage/{token}",
                    await timed(
                        count,
                        lambda n: client.get(
                            f"/manage/{sign(Purpose.MANAGE, people[n].id, people[n].email)}"
                        ),
                    ),
                )
                report(
                    "POST one-click unsubscribe",
                    await timed(
                        count,
                        lambda n: client.post(
                            "/unsubscribe/"
                            + sign(Purpose.UNSUBSCRIBE, people[n].id, people[n].email),
                            data={"List-Unsubscribe": "One-Click"},
                        ),
                    ),
                )
        finally:
            server.should_exit = True
            await asyncio.wait_for(task, 30)
            sock.close()
            await app.close()


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--requests", type=int, default=300)
    asyncio.run(main(parser.parse_args().requests))
