"""``/metrics`` in Prometheus' text format (prometheus-client).

Every value is read from the database when the page is scraped, not counted in this
process, so any process answers the same and the figures stay right with several
processes and hosts, across restarts. The counters count what the database holds:
removing a subscriber removes their deliveries, which Prometheus sees as a counter reset.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Iterator

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.metrics_core import Metric
from prometheus_client.registry import Collector
from sqlalchemy.exc import SQLAlchemyError
from starlette.requests import Request
from starlette.responses import PlainTextResponse, Response

from digest.app import App
from digest.models import RunStatus
from digest.store import monitoring, reports

log = logging.getLogger(__name__)


class Snapshot(Collector):
    """Metric families read once, handed to prometheus-client to write out."""

    def __init__(self, families: Iterable[Metric]) -> None:
        self._families = list(families)

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


class Metrics:
    def __init__(self, app: App) -> None:
        self._app = app

    async def endpoint(self, request: Request) -> Response:
        try:
            families = await self.read()
        except (SQLAlchemyError, OSError) as exc:
            log.warning("/metrics: the database cannot be reached: %s", exc)
            return PlainTextResponse("the database cannot be reached\n", status_code=503)
        registry = CollectorRegistry(auto_describe=False)
        registry.register(Snapshot(families))
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    async def read(self) -> list[Metric]:
        app = self._app
        async with app.db.transaction() as session:
            run_counts = await monitoring.runs_by_status(session)
            success = await monitoring.last_success(session)
            emails = await monitoring.email_totals(session)
            depth = await monitoring.outbox_depth(session, app.clock())
            people = await reports.subscriber_counts(session)

        runs = CounterMetricFamily(
            "digest_runs", "Daily runs finished, by status.", labels=["status"]
        )
        for status, count in run_counts.items():
            if status is not RunStatus.RUNNING:
                runs.add_metric([status.value], count)
        running = GaugeMetricFamily("digest_runs_running", "Runs started and not finished.")
        running.add_metric([], run_counts[RunStatus.RUNNING])
        last = GaugeMetricFamily(
            "digest_last_successful_run_timestamp_seconds",
            "When the last successful run finished (Unix time; 0: never).",
        )
        finished = success.finished_at if success is not None else None
        last.add_metric([], finished.timestamp() if finished is not None else 0.0)
        sent = CounterMetricFamily("digest_emails_sent", "Digests the SMTP server accepted.")
        sent.add_metric([], emails.sent)
        failed = CounterMetricFamily("digest_emails_failed", "Digests given up on.")
        failed.add_metric([], emails.failed)
        retried = CounterMetricFamily(
            "digest_emails_retried", "Attempts to send a digest after its first."
        )
        retried.add_metric([], emails.retried)
        outbox = GaugeMetricFamily(
            "digest_outbox_depth",
            "Digests not sent yet: due now, scheduled later (retries, weekly, paused "
            "subscribers), or being sent.",
            labels=["state"],
        )
        outbox.add_metric(["due"], depth.due)
        outbox.add_metric(["scheduled"], depth.scheduled)
        outbox.add_metric(["sending"], depth.sending)
        subscribers = GaugeMetricFamily(
            "digest_subscribers", "Subscribers, by status.", labels=["status"]
        )
        for standing, count in people.items():
            subscribers.add_metric([standing.value], count)
        return [runs, running, last, sent, failed, retried, outbox, subscribers]
