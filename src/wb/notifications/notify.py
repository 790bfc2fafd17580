"""One run of `./wb messaging notify`: claim what is due, deliver what is pending, record the run."""
from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import delete, func, select, update

from ..extensions import db
from ..messaging import policy
from ..models import utcnow
from .claims import claim_due
from .delivery import Delivered, deliver_pending
from .models import Notice, NotifyRun

log = logging.getLogger("wb.notifications")

KEEP_DAYS = 30  # how long runs and sent or dropped notices are kept (the admin page shows one day)


@dataclass
class RunResult:
    messaging_on: bool
    claimed: int
    delivered: Delivered


def run_notify(now: datetime | None = None) -> RunResult:
    """Claim due notices (while messaging is on) and deliver pending ones; safe to run concurrently."""
    now = now or utcnow()
    run = NotifyRun(started_at=now)
    db.session.add(run)
    db.session.commit()
    run_id = run.id
    messaging_on = policy.messaging_enabled()
    claimed = claim_due(now) if messaging_on else 0
    delivered = deliver_pending(now)
    db.session.execute(
        update(NotifyRun).where(NotifyRun.id == run_id)
        .values(finished_at=utcnow(), claimed=claimed, sent=delivered.sent, failed=delivered.failed)
    )
    _forget_old(now)
    db.session.commit()
    log.info("notify run", extra={"claimed": claimed, "sent": delivered.sent, "failed": delivered.failed,
                                  "dropped": delivered.dropped})
    return RunResult(messaging_on, claimed, delivered)


def _forget_old(now: datetime) -> None:
    """Runs and finished notices older than KEEP_DAYS go: a run a minute would otherwise pile up."""
    cutoff = now - timedelta(days=KEEP_DAYS)
    db.session.execute(delete(NotifyRun).where(NotifyRun.started_at < cutoff))
    db.session.execute(delete(Notice).where(Notice.created_at < cutoff, Notice.status != "pending"))


def notification_health(now: datetime | None = None) -> dict:
    """For /admin/messaging: last run, emails sent and failures in the last day, queue. Counts only."""
    now = now or utcnow()
    day_ago = now - timedelta(days=1)
    last_run = db.session.scalar(select(func.max(NotifyRun.finished_at)))
    return {
        "last_run_at": last_run,
        # Counted from the runs, as failures are: a member's notices go when they are erased.
        "sent_last_day": db.session.scalar(
            select(func.coalesce(func.sum(NotifyRun.sent), 0)).where(NotifyRun.started_at >= day_ago)),
        "failures_last_day": db.session.scalar(
            select(func.coalesce(func.sum(NotifyRun.failed), 0)).where(NotifyRun.started_at >= day_ago)),
        "pending": db.session.scalar(select(func.count(Notice.id)).where(Notice.status == "pending")),
    }


def start_demo_mailer(app, every_seconds: float = 10) -> threading.Thread:
    """`./wb demo` only: run the notify step in the background, so a newcomer sees emails in the terminal.

    A real instance runs `./wb messaging notify` from cron instead; nothing is ever sent inside a request.
    """

    def loop():
        while True:
            time.sleep(every_seconds)
            with app.app_context():
                try:
                    run_notify()
                except Exception as error:  # keep the demo serving; the next round tries again
                    log.warning("demo notify run failed", extra={"error": type(error).__name__})
                finally:
                    db.session.remove()

    thread = threading.Thread(target=loop, name="wb-demo-notify", daemon=True)
    thread.start()
    return thread
