"""``digest serve``: the web pages, the daily job and the sender in one process, on one
event loop, stopped gracefully by SIGTERM or SIGINT.

The web app is served by uvicorn (digest.web.server), the daily job by the scheduler
(digest.scheduler), and the digests it queues, weekly ones when they fall due and
retries are sent by a sender that keeps running beside them (``Sender.run_forever``),
like a ``digest worker`` in the same process. On a stop signal uvicorn finishes the
requests in progress; then the job starts no new day (the day being run may finish,
for at most STOP_GRACE_SECONDS), the sender finishes the messages it is handing over
and records them, hands back what it had claimed but not started, and the process
exits with 0. Nothing is half-recorded: each day and each batch of outcomes is one
transaction.
"""

from __future__ import annotations

import asyncio
import logging
import socket

from digest.app import App
from digest.errors import DigestError
from digest.scheduler import DailyJob, build_scheduler
from digest.sender import Sender, SenderBusy, SendReport
from digest.web import create_app
from digest.web.server import build_server

log = logging.getLogger(__name__)

STOP_GRACE_SECONDS = 20.0  # the longest a stop waits for the day being run


async def serve(app: App, sock: socket.socket) -> None:
    """Serve on the bound ``sock`` with the scheduler and a sender until told to stop."""
    job = DailyJob(app)
    scheduler = build_scheduler(app, job)
    server = build_server(create_app(app), trusted_proxies=app.settings.web_trusted_proxies)
    sender = app.sender()
    sending = asyncio.create_task(_send(sender, job.stop))

    def sender_ended(task: asyncio.Task[SendReport | None]) -> None:
        if not job.stop.is_set() and not task.cancelled() and task.exception() is not None:
            log.error("the sender stopped: %s; stopping the service", task.exception())
            server.should_exit = True

    sending.add_done_callback(sender_ended)
    scheduler.start()
    timetable = app.timetable
    log.info(
        "serving on %s; the daily job runs now, then at '%s' (%s): next %s; sender %s",
        _address(sock),
        timetable.schedule,
        app.settings.timezone,
        timetable.next_run(app.clock()).isoformat(timespec="minutes"),
        sender.name,
    )
    try:
        await server.serve(sockets=[sock])
    finally:
        await job.finish(STOP_GRACE_SECONDS)
        scheduler.shutdown(wait=False)
        await asyncio.wait({sending})
    if not server.started:
        raise DigestError("the web server did not start (see the log above)")
    if (failure := sending.exception()) is not None:
        raise DigestError(f"the sender failed: {failure}")
    report = sending.result()
    log.info("stopped%s", f"; sender: {report.summary()}" if report is not None else "")


async def _send(sender: Sender, stop: asyncio.Event) -> SendReport | None:
    try:
        return await sender.run_forever(stop)
    except SenderBusy as exc:
        log.warning("this process does not send: %s", exc)
        return None


def _address(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    return f"http://{host}:{port}" if ":" not in host else f"http://[{host}]:{port}"
