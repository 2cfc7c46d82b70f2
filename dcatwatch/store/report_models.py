"""Tables of the reports room: the outbox (one row per agency and period).

A report is rendered once, when it is queued, and the whole message (with a Message-ID fixed
by agency and period) is kept in the row, so every retry sends the same bytes. ``status`` moves
``pending`` → ``sending`` (committed before SMTP is called) → ``sent``; a failed attempt leaves
``failed`` and is retried by the next run. A row found in ``sending`` was interrupted between
the SMTP hand-over and the commit: it is sent again with the same Message-ID (at least once).

For metrics: sent reports = rows with ``status = 'sent'``; failed delivery attempts =
``sum(failures)`` (both only grow: rows are never deleted).
"""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import Column, Index, Text, UniqueConstraint
from sqlmodel import Field, SQLModel


class ReportDelivery(SQLModel, table=True):
    """One agency's report for one period, and how its delivery went."""

    __tablename__ = "report_delivery"
    __table_args__ = (
        UniqueConstraint("agency_id", "period", name="uq_report_delivery_agency_period"),
        Index("ix_report_delivery_status", "status"),
    )

    id: int | None = Field(default=None, primary_key=True)
    agency_id: str = Field(max_length=64)
    period: str = Field(max_length=7)  # YYYY-MM
    recipient: str = Field(max_length=320)
    language: str = Field(max_length=8)
    message_id: str = Field(max_length=255)  # <dcatwatch-report.PERIOD.AGENCY@sender-domain>
    subject: str = Field(sa_column=Column(Text, nullable=False))
    message: str = Field(sa_column=Column(Text, nullable=False))  # the RFC 5322 message (ASCII)
    figures: str = Field(sa_column=Column(Text, nullable=False))  # JSON: headline figures sent
    status: str = Field(default="pending", max_length=16)  # pending | sending | sent | failed
    attempts: int = 0  # SMTP attempts, successful or not
    failures: int = 0  # failed SMTP attempts
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    last_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    worker: str | None = Field(default=None, max_length=120)  # host-pid that last sent it
