"""The report services ``dcatwatch report preview`` / ``report send`` and the daemon call.

``send`` for a period (default: this month) works through the registry agencies: opted out
(``reports = false``) or without an address → skipped (what their report would stand on is
kept once per period, for progress later); no row in the outbox yet → the report is rendered
and queued; then every queued report of the period not yet sent is delivered.

At most once: each row is claimed in the outbox (its own transaction) before SMTP is called,
and moved to ``data`` by the claim's holder just before the DATA command; a sender that lost
its claim never sends DATA (see :mod:`dcatwatch.store.report_models`). A report whose row says
``sent`` is never sent again; one that failed before DATA is tried again by the next run (up
to ``[reports] max_attempts``); one whose reply after DATA never came is ``unknown``: listed by
every ``send``, sent again only by ``resend`` (same message, same Message-ID, so a recipient
that got it can drop the copy). When the server cannot be reached, the rest stay queued.

Without any score snapshot yet (harvested, never scored), ``preview`` and ``send`` take one
themselves through the scoring service. Before any harvest has succeeded they do not (every
agency would get a report of nothing): ``preview`` fails (:class:`NothingToReport`, naming
``dcatwatch harvest``) and ``send`` skips the agencies saying so.
"""

from __future__ import annotations

import os
import socket
import uuid
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime, timedelta
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from dcatwatch.config import Language, Settings
from dcatwatch.errors import ConfigError, DcatwatchError
from dcatwatch.reports.content import NotScored, ReportContent, build
from dcatwatch.reports.period import Period
from dcatwatch.reports.render import build_message, message_id, render
from dcatwatch.reports.smtp import ClaimLost, DeliveryError, DeliveryUnknown, SmtpSender
from dcatwatch.reports.validation import Rechecks
from dcatwatch.store.core import Store, Unit
from dcatwatch.store.outbox import SENT, UNKNOWN

NOT_HARVESTED = "nothing harvested yet: run `dcatwatch harvest`"


class NothingToReport(DcatwatchError):
    """No score snapshot, and none can be taken: no harvest has succeeded yet."""

    def __init__(self, agency_id: str) -> None:
        super().__init__("report.not_scored", f"there is no report for agency {agency_id} yet: "
                         "no harvest has succeeded, so nothing is scored; run `dcatwatch "
                         "harvest` first")


@dataclass(frozen=True, slots=True)
class Recipient:
    """A registry agency as reports see it."""

    id: str
    name: str
    email: str | None
    language: Language | None
    reports: bool


@dataclass(slots=True)
class SendResult:
    """What one ``send`` run did, agency ids per outcome."""

    period: str
    sent: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)  # agency id → error
    already_sent: list[str] = field(default_factory=list)
    queued: list[str] = field(default_factory=list)  # left for the next run, not tried
    skipped: dict[str, list[str]] = field(default_factory=dict)  # reason → agency ids
    unknown: dict[str, str] = field(default_factory=dict)  # agency id → what happened
    new_unknown: list[str] = field(default_factory=list)  # became unknown in this run
    elsewhere: dict[str, str] = field(default_factory=dict)  # agency id → claim holder
    scored: bool = False  # this run took the first score snapshot itself

    def skip(self, reason: str, agency_id: str) -> None:
        """Record an agency that gets no report, and why."""
        self.skipped.setdefault(reason, []).append(agency_id)

    def to_dict(self) -> dict[str, Any]:
        """The ``report send --json`` object: the agency ids per outcome."""
        return asdict(self)

    def summary(self) -> str:
        """One line of counts, then one line per failure."""
        parts = [f"{len(self.sent)} sent", f"{len(self.failed)} failed",
                 f"{len(self.already_sent)} already sent", f"{len(self.queued)} still queued"]
        if self.unknown:
            parts.append(f"{len(self.unknown)} unknown")
        if self.elsewhere:
            parts.append(f"{len(self.elsewhere)} being sent by another sender")
        parts += [f"{len(ids)} skipped ({reason})" for reason, ids in sorted(self.skipped.items())]
        lines = [f"reports for {self.period}: " + ", ".join(parts)]
        if self.scored:
            lines.append("  (no score snapshot existed: one was taken first)")
        lines += [f"  {agency}: {error}" for agency, error in sorted(self.failed.items())]
        lines += [f"  {agency}: being sent by {holder}"
                  for agency, holder in sorted(self.elsewhere.items())]
        for agency, error in sorted(self.unknown.items()):
            lines.append(f"  {agency}: delivery unknown ({error}); never sent again by itself: "
                         "check with the recipient, then, if it did not arrive, "
                         f"`dcatwatch report resend --agency {agency} --period {self.period}`")
        return "\n".join(lines)


def registry(settings: Settings, store: Store) -> list[Recipient]:
    """Registry agencies of the store, with the configuration's settings where it has them."""
    configured = {a.id: a for a in settings.agencies}
    with store.read() as unit:
        rows = unit.agencies.in_registry()
    found = {row.id: Recipient(row.id, row.name or row.id, row.email, row.language, True)
             for row in rows}
    for agency in configured.values():
        imported = found.get(agency.id)
        language = agency.language or (imported.language if imported else None)
        found[agency.id] = Recipient(agency.id, agency.name, agency.email, language,
                                     agency.reports)
    return sorted(found.values(), key=lambda r: r.id)


def _recipient(settings: Settings, store: Store, agency_id: str) -> Recipient:
    for recipient in registry(settings, store):
        if recipient.id == agency_id:
            return recipient
    with store.read() as unit:
        row = unit.agencies.contact(agency_id)
    if row is None:
        raise ConfigError("--agency", f"no agency {agency_id!r} is known (registry or harvested)")
    return Recipient(agency_id, row.name or agency_id, row.email, row.language, True)


@dataclass(frozen=True, slots=True)
class Prepared:
    """One agency's report, rendered and wrapped as an e-mail."""

    language: Language
    figures_json: str
    subject: str
    text: str
    html: str
    message: EmailMessage
    content: ReportContent


def _prepare(settings: Settings, store: Store, recipient: Recipient, period: Period,
             date: datetime) -> Prepared:
    options = settings.reports
    language = recipient.language or options.language
    content = build(store, recipient.id, period, language, options,
                    Rechecks.of(settings.validation, settings.daemon))
    rendered = render(content, options)
    message = build_message(rendered, sender=settings.smtp.sender, recipient=recipient.email,
                            msgid=message_id(recipient.id, period, settings.smtp.sender),
                            language=language, reply_to=options.reply_to, date=date)
    return Prepared(language, content.figures.to_json(), rendered.subject, rendered.text,
                    rendered.html, message, content)


def _record(unit: Unit, content: ReportContent, at: datetime) -> None:
    """Keep what the report stands on, for the next period's report to measure progress."""
    if content.scored_at is not None:
        unit.progress.record(content.agency_id, str(content.period), content.scored_at,
                             len(content.findings.broken), content.problems(), at)


def preview(settings: Settings, store: Store, agency_id: str, out_dir: Path,
            period: str | None = None) -> list[Path]:
    """Write the agency's report as ``.eml``, ``.html`` and ``.txt`` into ``out_dir``. While
    no report of the period is queued, what it stands on is kept for the next period's
    progress (a queued report's own record is never replaced)."""
    when = Period.parse(period)
    recipient = _recipient(settings, store, agency_id)
    ensure_scored(store)
    now = datetime.now(UTC)
    try:
        prepared = _prepare(settings, store, recipient, when, now)
    except NotScored:
        raise NothingToReport(agency_id) from None
    with store.write() as unit:
        if unit.outbox.find(agency_id, str(when)) is None:
            _record(unit, prepared.content, now)
    out_dir.mkdir(parents=True, exist_ok=True)
    stem = out_dir / f"report-{agency_id}-{when}"
    paths = [stem.with_suffix(".eml"), stem.with_suffix(".html"), stem.with_suffix(".txt")]
    paths[0].write_bytes(prepared.message.as_bytes())
    paths[1].write_text(prepared.html, encoding="utf-8")
    paths[2].write_text(prepared.text, encoding="utf-8")
    return paths


def send(settings: Settings, store: Store, agency_id: str | None = None,
         period: str | None = None) -> SendResult:
    """Queue the period's reports that are due and deliver every one not yet sent."""
    when = Period.parse(period)
    recipients = registry(settings, store)
    if agency_id is not None:
        recipients = [r for r in recipients if r.id == agency_id]
        if not recipients:
            raise ConfigError("--agency", f"{agency_id!r} is not a registry agency")
    result = SendResult(str(when), scored=ensure_scored(store))
    due = [r.id for r in recipients if _queued(settings, store, r, when, result)]
    with store.write() as unit:
        unit.outbox.expire(datetime.now(UTC))
    with store.read() as unit:
        rows = unit.outbox.unsent(str(when), due)
    _deliver(settings, store, rows, result)
    with store.read() as unit:
        for row in unit.outbox.unknown(str(when), [r.id for r in recipients]):
            result.unknown.setdefault(row.agency_id, row.last_error or "no reply after DATA")
    return result


def resend(settings: Settings, store: Store, agency_id: str, period: str) -> SendResult:
    """Send the agency's stored report for ``period`` again, on purpose: the same message
    with the same Message-ID, whatever its state, unless another sender holds it now."""
    when = Period.parse(period)
    result = SendResult(str(when))
    with store.read() as unit:
        row = unit.outbox.find(agency_id, str(when))
    if row is None:
        raise ConfigError("--agency", f"no report of {agency_id!r} for {when} is in the outbox: "
                          "`dcatwatch report send` queues and sends it")
    _deliver(settings, store, [row], result, resend=True)
    return result


def ensure_scored(store: Store) -> bool:
    """Take a score snapshot through the scoring service when the store has none yet but a
    harvest has succeeded (harvested, never scored); True if one was taken."""
    with store.read() as unit:
        if unit.scores.latest_national() is not None:
            return False
        if not any(row.last_success_at for row in unit.sources.enabled_states()):
            return False
    from dcatwatch.scoring.service import score

    score(store, snapshot=True)
    return True


def holder() -> str:
    """Who claims a report: host and pid (shown to operators), and a nonce (unique)."""
    return f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:8]}"


def _queued(settings: Settings, store: Store, recipient: Recipient, period: Period,
            result: SendResult) -> bool:
    """Whether the agency's report for ``period`` is in the outbox waiting to be sent."""
    if not recipient.reports or not recipient.email:
        result.skip("no e-mail address" if recipient.reports else "opted out", recipient.id)
        _keep_unsent(settings, store, recipient, period)
        return False
    with store.read() as unit:
        row = unit.outbox.find(recipient.id, str(period))
    if row is not None:
        if row.status == SENT:
            result.already_sent.append(recipient.id)
            return False
        return True
    now = datetime.now(UTC)
    try:
        prepared = _prepare(settings, store, recipient, period, now)
    except NotScored:
        with store.read() as unit:
            harvested = any(row.last_success_at for row in unit.sources.enabled_states())
        result.skip("not scored yet" if harvested else NOT_HARVESTED, recipient.id)
        return False
    with store.write() as unit:
        if unit.outbox.queue(agency_id=recipient.id, period=str(period),
                             recipient=recipient.email, language=prepared.language,
                             subject=prepared.subject, message_id=prepared.message["Message-ID"],
                             message=prepared.message.as_bytes().decode("ascii"),
                             figures=prepared.figures_json, created_at=now):
            _record(unit, prepared.content, now)
    return True


def _keep_unsent(settings: Settings, store: Store, recipient: Recipient,
                 period: Period) -> None:
    """For an agency that gets no e-mail: keep, once per period, what its report would stand
    on, so its next report (once it has an address) or page shows progress."""
    with store.read() as unit:
        if unit.progress.of(recipient.id, str(period)) is not None:
            return
    now = datetime.now(UTC)
    try:
        content = build(store, recipient.id, period, recipient.language or
                        settings.reports.language, settings.reports,
                        Rechecks.of(settings.validation, settings.daemon))
    except NotScored:
        return
    with store.write() as unit:
        _record(unit, content, now)


def _deliver(settings: Settings, store: Store, rows: list[Any], result: SendResult, *,
             resend: bool = False) -> None:
    """Send ``rows``, each claimed first; every state change is committed on its own, the
    claim before SMTP is called and the move to ``data`` before the DATA command, so a
    crash never loses track of what was handed over and no two senders both send DATA."""
    if not resend:
        rows = [row for row in rows if _under_cap(row, settings.reports.max_attempts, result)]
    if not rows:
        return
    me = holder()
    lease = timedelta(seconds=settings.reports.claim_lease)
    with SmtpSender(settings.smtp, settings.reports) as smtp:
        for index, row in enumerate(rows):
            now = datetime.now(UTC)
            with store.write() as unit:
                won = unit.outbox.claim(row.id, me, now, now + lease, resend=resend)
            if not won:
                _not_claimed(store, row, result)
                continue

            def before_data(row_id: int = row.id) -> bool:
                moment = datetime.now(UTC)
                with store.write() as unit:
                    return unit.outbox.mark_data(row_id, me, moment, moment + lease)

            try:
                smtp.send(row.recipient, row.message.encode("ascii"), before_data)
            except ClaimLost:
                _not_claimed(store, row, result)
                continue
            except DeliveryUnknown as error:
                with store.write() as unit:
                    unit.outbox.mark_unknown(row.id, me, str(error))
                result.unknown[row.agency_id] = str(error)
                result.new_unknown.append(row.agency_id)
                result.queued += [later.agency_id for later in rows[index + 1:]]
                return
            except DeliveryError as error:
                with store.write() as unit:
                    unit.outbox.mark_failed(row.id, me, str(error))
                result.failed[row.agency_id] = str(error)
                if error.session:
                    result.queued += [later.agency_id for later in rows[index + 1:]]
                    return
                continue
            with store.write() as unit:
                unit.outbox.mark_sent(row.id, me, datetime.now(UTC))
            result.sent.append(row.agency_id)


def _not_claimed(store: Store, row: Any, result: SendResult) -> None:
    """Say why another sender has the row: it sent it, left it unknown, or holds it now."""
    with store.read() as unit:
        now = unit.outbox.find(row.agency_id, row.period)
    if now is None or now.status == SENT:
        result.already_sent.append(row.agency_id)
    elif now.status == UNKNOWN:
        result.unknown[row.agency_id] = now.last_error or "no reply after DATA"
    else:  # held (sending, data), or just given back by a holder that failed
        result.elsewhere[row.agency_id] = _who(now.claimed_by)


def _who(claimed_by: str | None) -> str:
    """``host:pid`` of a claim (the nonce is left out)."""
    return ":".join((claimed_by or "another sender").split(":")[:2])


def _under_cap(row: Any, max_attempts: int, result: SendResult) -> bool:
    if row.attempts < max_attempts:
        return True
    result.skip(f"gave up after {max_attempts} attempts", row.agency_id)
    return False
