"""``/healthz``: is the service doing its job? JSON, 200 when healthy, 503 when not.

Unhealthy, precisely, when any of these holds:

- the database cannot be reached within HEALTH_TIMEOUT_SECONDS;
- a day in the daily job's window (the DIGEST_CATCH_UP_DAYS days up to yesterday) has a
  failed run and no successful one: the listing or the database failed, and the next run
  has not fixed it yet;
- no run has succeeded for longer than DIGEST_HEALTH_MAX_AGE_HOURS (by default the
  longest gap between two runs of DIGEST_SCHEDULE, at least a day, plus 3 hours: 75
  hours for the default schedule, whose longest gap is the weekend), or none ever has.

The body says which, with the last run's day, status and age and the last successful
run's; never error texts or addresses (the page may be public).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import logging
from typing import Any

from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import JSONResponse

from digest.app import App
from digest.clock import yesterday
from digest.models import Run
from digest.store import monitoring

log = logging.getLogger(__name__)

HEALTH_TIMEOUT_SECONDS = 5.0


class HealthCheck:
    def __init__(self, app: App) -> None:
        self._app = app
        settings = app.settings
        if settings.health_max_age_hours is not None:
            self.max_age = dt.timedelta(hours=settings.health_max_age_hours)
        else:
            self.max_age = app.timetable.max_run_age(app.clock())

    async def endpoint(self, request: Request) -> JSONResponse:
        healthy, body = await self.check()
        return JSONResponse(
            body, status_code=200 if healthy else 503, headers={"cache-control": "no-store"}
        )

    async def check(self) -> tuple[bool, dict[str, Any]]:
        """Whether the service is healthy, and the body of /healthz."""
        app = self._app
        now = app.clock()
        last = yesterday(app.clock)
        first = last - dt.timedelta(days=app.settings.catch_up_days - 1)
        try:
            async with asyncio.timeout(HEALTH_TIMEOUT_SECONDS):
                async with app.db.transaction() as session:
                    await monitoring.ping(session)
                    run = await monitoring.last_run(session)
                    success = await monitoring.last_success(session)
                    failed = await monitoring.failed_days(session, first, last)
        except (SQLAlchemyError, OSError, TimeoutError) as exc:
            log.warning("/healthz: the database cannot be reached: %s", exc)
            return False, {
                "status": "unhealthy",
                "problems": ["the database cannot be reached"],
                "database": "unreachable",
            }
        problems = []
        if failed:
            days = ", ".join(day.isoformat() for day in failed)
            problems.append(f"runs failed and have not succeeded since: {days}")
        if success is None or success.finished_at is None:
            problems.append("no run has succeeded yet")
        elif now - success.finished_at > self.max_age:
            problems.append(
                f"no run has succeeded for {_hours(now - success.finished_at)} hours "
                f"(at most {_hours(self.max_age)})"
            )
        body = {
            "status": "unhealthy" if problems else "ok",
            "problems": problems,
            "database": "ok",
            "last_run": _describe(run, now),
            "last_success": _describe(success, now),
            "failed_days": [day.isoformat() for day in failed],
            "max_age_hours": round(self.max_age / dt.timedelta(hours=1), 2),
        }
        return not problems, body


def _describe(run: Run | None, now: dt.datetime) -> dict[str, Any] | None:
    if run is None:
        return None
    ended = run.finished_at or run.started_at
    return {
        "day": run.day.isoformat(),
        "status": str(run.status),
        "started_at": run.started_at.isoformat(timespec="seconds"),
        "finished_at": run.finished_at.isoformat(timespec="seconds") if run.finished_at else None,
        "age_seconds": round((now - ended).total_seconds()),
    }


def _hours(span: dt.timedelta) -> str:
    return f"{span / dt.timedelta(hours=1):.1f}"
