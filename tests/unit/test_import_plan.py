"""How an import treats each row, decided before anything is written."""

from __future__ import annotations

from digest.importer import plan_import
from digest.models import Cadence, SubscriberStatus
from digest.store.imports import Known
from digest.subscriber_file import Entry

ACTIVE, PAUSED, UNSUBSCRIBED = (
    SubscriberStatus.ACTIVE,
    SubscriberStatus.PAUSED,
    SubscriberStatus.UNSUBSCRIBED,
)


def known(id_: int, status: SubscriberStatus, *queries: str) -> Known:
    return Known(
        id=id_,
        status=status,
        cadence=Cadence.DAILY,
        confirmed_at=None,
        unsubscribed_at=None,
        bounce_count=0,
        query_ids={text: number for number, text in enumerate(queries)},
    )


def test_rows_are_new_changed_unchanged_or_kept_unsubscribed() -> None:
    stored = {
        "same@example.org": known(1, ACTIVE, "LLM", "GPU"),
        "reordered@example.org": known(2, ACTIVE, "LLM", "GPU"),
        "paused@example.org": known(3, ACTIVE, "LLM"),
        "weekly@example.org": known(4, ACTIVE, "LLM"),
        "queries@example.org": known(5, ACTIVE, "LLM"),
        "left@example.org": known(6, UNSUBSCRIBED, "LLM"),
        "still-left@example.org": known(7, UNSUBSCRIBED, "LLM"),
    }
    entries = [
        Entry("new@example.org", ("LLM",)),
        Entry("same@example.org", ("LLM", "GPU")),
        Entry("reordered@example.org", ("GPU", "LLM")),  # queries are a set
        Entry("paused@example.org", ("LLM",), PAUSED),
        Entry("weekly@example.org", ("LLM",), cadence=Cadence.WEEKLY),
        Entry("queries@example.org", ("GPU",)),
        Entry("left@example.org", ("LLM",), ACTIVE),  # never resubscribed by a file
        Entry("still-left@example.org", ("GPU",), UNSUBSCRIBED),  # may change otherwise
    ]

    plan = plan_import(entries, stored)

    assert [entry.email for entry in plan.new] == ["new@example.org"]
    assert [entry.email for entry, _ in plan.changed] == [
        "paused@example.org",
        "weekly@example.org",
        "queries@example.org",
        "still-left@example.org",
    ]
    assert plan.unchanged == 2
    assert plan.kept_unsubscribed == 1
    assert plan.report().added == 1
