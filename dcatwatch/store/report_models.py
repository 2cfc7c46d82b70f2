"""Tables of the reports room: the outbox (one row per agency and period).

A report is rendered once, when it is queued, and the whole message (with a Message-ID fixed
by agency and period) is kept in the row, so every retry sends the same bytes.

At most once: ``status`` moves ``pending``/``failed`` → ``sending`` (a *claim*: one conditional
UPDATE, committed before SMTP is called, naming the holder in ``claimed_by`` — host, pid and a
nonce — until ``lease_until``) → ``data`` (committed just before the DATA command, and only by
the claim's holder) → ``sent``. A failure before DATA leaves ``failed`` (retried by the next
run); a reply timeout or lost connection after DATA leaves ``unknown``, which is never sent
again automatically, only by ``report resend``. A ``sending`` claim whose lease ran out (the
sender died before DATA) may be taken over: that changes ``claimed_by``, so the old holder can
no longer move the row to ``data``. A ``data`` row whose lease ran out (the sender died after
DATA) counts as ``unknown``. Only one sender can ever move a row to ``data``, so the SMTP
server sees at most one DATA per (agency, period) unless an operator resends.

For metrics: sent reports = rows with ``status = 'sent'``; failed delivery attempts =
``sum(failures)`` (both only grow: rows are never deleted); rows per state
(``dcatwatch_report_deliveries{state}``).
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
    status: str = Field(default="pending", max_length=16)
    # pending | sending | data | sent | failed | unknown
    attempts: int = 0  # SMTP attempts, successful or not
    failures: int = 0  # failed SMTP attempts
    last_error: str | None = Field(default=None, sa_column=Column(Text))
    created_at: datetime
    last_attempt_at: datetime | None = None
    sent_at: datetime | None = None
    worker: str | None = Field(default=None, max_length=120)  # host-pid that last sent it
    claimed_by: str | None = Field(default=None, max_length=160)  # host:pid:nonce of the holder
    lease_until: datetime | None = None  # the claim may be taken over after this
    data_at: datetime | None = None  # when the DATA command was last sent


class ReportProgress(SQLModel, table=True):
    """What one agency's report for one period stood on, for the next period's report to
    measure progress against: the agency score snapshot it showed (``agency_score`` at
    ``scored_at``), the confirmed broken links it counted and the problems of its fix list.
    Written when a report is queued, by a preview while nothing is queued for the period, and
    by the first ``send`` of a period for a registry agency that gets no e-mail; the last one
    written in a period stands for it."""

    __tablename__ = "report_progress"

    agency_id: str = Field(primary_key=True, max_length=64)
    period: str = Field(primary_key=True, max_length=7)  # YYYY-MM
    scored_at: datetime  # of the agency's score snapshot the report showed
    broken_links: int
    # JSON {fix id: [dataset IRIs concerned]}: the problems of the report's fix list
    problems: str = Field(sa_column=Column(Text, nullable=False))
    recorded_at: datetime
