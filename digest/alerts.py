"""The alert email to DIGEST_ADMIN_EMAIL when a daily run fails.

Sent by the daily job of ``digest serve`` and by ``digest run`` alike: a service run
from the system's cron has nobody reading its terminal either. One alert per run of
the job, however many days failed in it, so an outage of several days caught up at
once is one email, not one per day.
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Sequence

from digest.app import App
from digest.mail import MailError
from digest.models import RunStatus
from digest.pipeline import RunReport

log = logging.getLogger(__name__)


async def alert_failed_runs(app: App, reports: Sequence[RunReport]) -> bool:
    """Tell the admin about the failed days among ``reports``, if any and if an admin
    is set; True when an alert was sent."""
    failed = [report for report in reports if report.status is RunStatus.FAILED]
    if not failed:
        return False
    latest = failed[-1]
    error = latest.error or ""
    if len(failed) > 1:
        others = ", ".join(str(report.day) for report in failed[:-1])
        error += f"\n\nThese days failed too: {others}."
    return await send_alert(app, latest.day, error)


async def send_alert(app: App, day: dt.date, error: str) -> bool:
    """The alert about the run for ``day`` to DIGEST_ADMIN_EMAIL; False when it is not
    set or the email could not be sent (logged: an alert never fails the run more)."""
    if app.composer.admin_email is None:
        return False
    try:
        await app.send_message(app.composer.alert(day, RunStatus.FAILED, error))
    except (MailError, OSError) as exc:
        log.warning("could not send the alert about %s to DIGEST_ADMIN_EMAIL: %s", day, exc)
        return False
    log.info("sent an alert about the failed run for %s to DIGEST_ADMIN_EMAIL", day)
    return True
