"""The database schema as SQLAlchemy 2 typed models."""

from __future__ import annotations

import datetime as dt
import enum
from typing import Any, ClassVar

from sqlalchemy import (
    JSON,
    Date,
    DateTime,
    Enum,
    Float,
    ForeignKey,
    Index,
    Integer,
    MetaData,
    String,
    Text,
    UniqueConstraint,
)
from sqlalchemy.engine import Dialect
from sqlalchemy.orm import DeclarativeBase, Mapped, mapped_column, relationship
from sqlalchemy.types import TypeDecorator

# One naming convention, so constraints get the same names on SQLite and PostgreSQL
# and Alembic's batch mode can find them again.
NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class UtcDateTime(TypeDecorator[dt.datetime]):
    """An aware UTC datetime on every database.

    PostgreSQL stores ``timestamptz``; SQLite has no time zones, so the value is
    stored as naive UTC and made aware again when read.
    """

    impl = DateTime(timezone=True)
    cache_ok = True

    def process_bind_param(self, value: dt.datetime | None, dialect: Dialect) -> dt.datetime | None:
        if value is None:
            return None
        if value.tzinfo is None:
            raise ValueError("naive datetime given to the database; use an aware UTC datetime")
        value = value.astimezone(dt.UTC)
        return value if dialect.name == "postgresql" else value.replace(tzinfo=None)

    def process_result_value(
        self, value: dt.datetime | None, dialect: Dialect
    ) -> dt.datetime | None:
        if value is None:
            return None
        return value.replace(tzinfo=dt.UTC) if value.tzinfo is None else value.astimezone(dt.UTC)


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)
    type_annotation_map: ClassVar[dict[Any, Any]] = {dt.datetime: UtcDateTime(), dt.date: Date()}


class SubscriberStatus(enum.StrEnum):
    PENDING = "pending"
    ACTIVE = "active"
    PAUSED = "paused"
    UNSUBSCRIBED = "unsubscribed"
    BOUNCED = "bounced"


class Cadence(enum.StrEnum):
    DAILY = "daily"
    WEEKLY = "weekly"


class DeliveryStatus(enum.StrEnum):
    PENDING = "pending"
    SENDING = "sending"
    SENT = "sent"
    FAILED = "failed"


class RunStatus(enum.StrEnum):
    RUNNING = "running"
    SENT = "sent"
    NOTHING_NEW = "nothing_new"
    NO_LISTING = "no_listing"
    FAILED = "failed"


def _str_enum(enum_cls: type[enum.StrEnum], name: str) -> Enum:
    # Stored as plain strings (no native ENUM type), so adding a value needs no DDL.
    return Enum(
        enum_cls,
        name=name,
        native_enum=False,
        create_constraint=False,
        length=20,
        values_callable=lambda members: [member.value for member in members],
    )


class Paper(Base):
    __tablename__ = "papers"

    id: Mapped[str] = mapped_column(String(32), primary_key=True)  # the arXiv id
    title: Mapped[str] = mapped_column(Text)
    abstract: Mapped[str] = mapped_column(Text, default="")
    authors: Mapped[list[str]] = mapped_column(JSON, default=list)
    published_at: Mapped[dt.datetime | None]
    listed_on: Mapped[dt.date] = mapped_column(index=True)
    upvotes: Mapped[int] = mapped_column(Integer, default=0)
    num_comments: Mapped[int] = mapped_column(Integer, default=0)
    github_repo: Mapped[str | None] = mapped_column(String(500))
    github_stars: Mapped[int | None]
    project_page: Mapped[str | None] = mapped_column(String(500))
    ai_summary: Mapped[str | None] = mapped_column(Text)
    ai_keywords: Mapped[list[str]] = mapped_column(JSON, default=list)
    thumbnail_url: Mapped[str | None] = mapped_column(String(500))
    organization: Mapped[str | None] = mapped_column(String(200))
    source: Mapped[str] = mapped_column(String(20))
    first_seen_at: Mapped[dt.datetime]
    updated_at: Mapped[dt.datetime]


class Subscriber(Base):
    __tablename__ = "subscribers"

    id: Mapped[int] = mapped_column(primary_key=True)
    email: Mapped[str] = mapped_column(String(320), unique=True)
    status: Mapped[SubscriberStatus] = mapped_column(
        _str_enum(SubscriberStatus, "subscriber_status"), index=True
    )
    cadence: Mapped[Cadence] = mapped_column(_str_enum(Cadence, "cadence"), default=Cadence.DAILY)
    bounce_count: Mapped[int] = mapped_column(Integer, default=0)
    created_at: Mapped[dt.datetime]
    confirmed_at: Mapped[dt.datetime | None]
    confirmation_sent_at: Mapped[dt.datetime | None]
    unsubscribed_at: Mapped[dt.datetime | None]

    queries: Mapped[list[Query]] = relationship(
        back_populates="subscriber",
        cascade="all, delete-orphan",
        order_by="Query.id",
        lazy="selectin",
    )


class Query(Base):
    __tablename__ = "queries"
    __table_args__ = (UniqueConstraint("subscriber_id", "text"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    text: Mapped[str] = mapped_column(String(500))
    created_at: Mapped[dt.datetime]

    subscriber: Mapped[Subscriber] = relationship(back_populates="queries")


class Run(Base):
    __tablename__ = "runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    day: Mapped[dt.date] = mapped_column(index=True)
    status: Mapped[RunStatus] = mapped_column(_str_enum(RunStatus, "run_status"))
    started_at: Mapped[dt.datetime]
    finished_at: Mapped[dt.datetime | None]
    source_path: Mapped[str | None] = mapped_column(String(20))
    papers_fetched: Mapped[int] = mapped_column(Integer, default=0)
    papers_new: Mapped[int] = mapped_column(Integer, default=0)
    subscribers_matched: Mapped[int] = mapped_column(Integer, default=0)
    emails_queued: Mapped[int] = mapped_column(Integer, default=0)
    error: Mapped[str | None] = mapped_column(Text)


class Delivery(Base):
    """One email to one subscriber, and the outbox entry that sends it."""

    __tablename__ = "deliveries"
    __table_args__ = (Index("ix_deliveries_due", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(
        ForeignKey("subscribers.id", ondelete="CASCADE"), index=True
    )
    run_id: Mapped[int | None] = mapped_column(ForeignKey("runs.id", ondelete="SET NULL"))
    status: Mapped[DeliveryStatus] = mapped_column(_str_enum(DeliveryStatus, "delivery_status"))
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[dt.datetime]
    last_error: Mapped[str | None] = mapped_column(Text)
    message_id: Mapped[str | None] = mapped_column(String(250))
    created_at: Mapped[dt.datetime]
    claimed_at: Mapped[dt.datetime | None]
    claimed_by: Mapped[str | None] = mapped_column(String(100))  # the sender holding the claim
    first_attempt_at: Mapped[dt.datetime | None]  # retries stop DIGEST_RETRY_HOURS after it
    sent_at: Mapped[dt.datetime | None]
    failed_at: Mapped[dt.datetime | None]

    subscriber: Mapped[Subscriber] = relationship(lazy="joined")
    papers: Mapped[list[DeliveryPaper]] = relationship(
        back_populates="delivery",
        cascade="all, delete-orphan",
        order_by="(DeliveryPaper.score.desc(), DeliveryPaper.paper_id)",
        lazy="selectin",
    )


class DeliveryPaper(Base):
    """The ledger: which paper went to which subscriber, in which delivery.

    The unique (subscriber_id, paper_id) key is what makes "never the same paper
    twice" a database fact.
    """

    __tablename__ = "delivery_papers"
    __table_args__ = (UniqueConstraint("subscriber_id", "paper_id"),)

    delivery_id: Mapped[int] = mapped_column(
        ForeignKey("deliveries.id", ondelete="CASCADE"), primary_key=True
    )
    paper_id: Mapped[str] = mapped_column(ForeignKey("papers.id"), primary_key=True)
    subscriber_id: Mapped[int] = mapped_column(ForeignKey("subscribers.id", ondelete="CASCADE"))
    score: Mapped[float] = mapped_column(Float, default=0.0)
    matched_queries: Mapped[list[str]] = mapped_column(JSON, default=list)

    delivery: Mapped[Delivery] = relationship(back_populates="papers")
    paper: Mapped[Paper] = relationship(lazy="joined")
