"""Rendering a report: Jinja2 templates (HTML and plain text from one context), CSS inlined
with css-inline, and the multipart/alternative e-mail with a fixed Message-ID and an RFC 2369
``List-Unsubscribe``."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from email.headerregistry import HeaderRegistry, UnstructuredHeader
from email.message import EmailMessage
from email.policy import SMTP, Policy
from email.utils import format_datetime, getaddresses, parseaddr
from functools import cache
from urllib.parse import quote

import css_inline
from jinja2 import Environment, PackageLoader, StrictUndefined

from dcatwatch.config import ReportsSettings
from dcatwatch.reports.content import ReportContent
from dcatwatch.reports.period import STOCKHOLM, Period
from dcatwatch.reports.texts import Texts
from dcatwatch.scoring.mqa import REACHABLE, SCALE

_ORGNR_RE = re.compile(r"^\d{10}$")
_UNSAFE_ID_RE = re.compile(r"[^A-Za-z0-9_.-]")


@dataclass(frozen=True, slots=True)
class Rendered:
    """A report as subject, plain text and HTML (CSS inlined), with the subject of a request
    to stop it (names the agency, in the report's language)."""

    subject: str
    text: str
    html: str
    unsubscribe: str


@cache
def environment(html: bool) -> Environment:
    """The template environment of one output: for HTML everything is escaped, macros
    included (agencies' metadata goes into the e-mail), for text nothing; undefined names are
    errors. Only http(s) addresses pass the ``web`` test that guards every link."""
    env = Environment(loader=PackageLoader("dcatwatch.reports", "templates"), autoescape=html,
                      undefined=StrictUndefined, trim_blocks=True, lstrip_blocks=True,
                      keep_trailing_newline=True, extensions=["jinja2.ext.do"])
    env.tests["web"] = _is_web_address
    return env


def _is_web_address(value: object) -> bool:
    return isinstance(value, str) and value.lower().startswith(("http://", "https://"))


def _local_date(moment: datetime) -> str:
    return moment.astimezone(STOCKHOLM).date().isoformat()


def render(content: ReportContent, options: ReportsSettings) -> Rendered:
    """Render ``content`` in its language."""
    texts = Texts(content.language)
    subject = texts("mail.subject", agency=content.agency_name, month=texts.month(content.period))
    context = {
        "c": content, "t": texts, "options": options, "subject": subject,
        "scale": SCALE, "reachable": REACHABLE,
        "orgnr": content.agency_id if _ORGNR_RE.match(content.agency_id) else None,
        "scored_date": _local_date(datetime.fromisoformat(content.figures.scored_at)),
        "period_of": Period.parse, "local_date": _local_date,
    }
    html = environment(html=True).get_template("report.html").render(context)
    text = environment(html=False).get_template("report.txt").render(context)
    return Rendered(subject, _tidy(text), css_inline.inline(html).rstrip() + "\n",
                    texts("mail.unsubscribe", agency=content.agency_id))


def _tidy(text: str) -> str:
    """No trailing spaces, at most two blank lines in a row (templates stay readable)."""
    lines = [line.rstrip() for line in text.splitlines()]
    return re.sub(r"\n{4,}", "\n\n\n", "\n".join(lines)).strip() + "\n"


def message_id(agency_id: str, period: Period, sender: str) -> str:
    """The fixed Message-ID of one agency's report for one period, in the sender's domain
    (``sender`` may carry a display name: ``Name <reports@example.se>``)."""
    _, at, domain = parseaddr(sender)[1].rpartition("@")
    domain = domain if at and domain else "dcatwatch.invalid"
    return f"<dcatwatch-report.{period}.{_UNSAFE_ID_RE.sub('_', agency_id)}@{domain}>"


class _UrlListHeader(UnstructuredHeader):
    """An RFC 2369 header, never folded: no whitespace may go inside its ``<URL>``, and the
    default folder would turn a long one into encoded words."""

    def fold(self, *, policy: Policy) -> str:
        """The header on one line."""
        return f"{self.name}: {self}{policy.linesep}"


_HEADERS = HeaderRegistry()
_HEADERS.map_to_type("list-unsubscribe", _UrlListHeader)
_POLICY = SMTP.clone(header_factory=_HEADERS)


def _list_unsubscribe(subject: str, *, sender: str, reply_to: str | None) -> str:
    """The ``List-Unsubscribe`` value: a mailto: URI to where replies go (Reply-To, else
    From) with ``subject``, percent-encoded. No ``List-Unsubscribe-Post``: one-click (RFC 8058)
    needs an HTTPS endpoint."""
    to = ",".join(quote(address, safe="@+")
                  for _, address in getaddresses([reply_to or sender]) if address)
    return f"<mailto:{to}?subject={quote(subject, safe='')}>"


def build_message(rendered: Rendered, *, sender: str, recipient: str | None, msgid: str,
                  language: str, reply_to: str | None, date: datetime) -> EmailMessage:
    """multipart/alternative: plain text first, HTML last (the preferred part)."""
    message = EmailMessage(policy=_POLICY)
    message["From"] = sender
    if recipient:
        message["To"] = recipient
    if reply_to:
        message["Reply-To"] = reply_to
    message["Subject"] = rendered.subject
    message["Date"] = format_datetime(date)
    message["Message-ID"] = msgid
    message["Auto-Submitted"] = "auto-generated"
    message["List-Unsubscribe"] = _list_unsubscribe(rendered.unsubscribe, sender=sender,
                                                    reply_to=reply_to)
    message.set_content(rendered.text, cte="quoted-printable")
    message.add_alternative(rendered.html, subtype="html", cte="quoted-printable")
    message["Content-Language"] = language  # after the content, which clears Content-*
    return message
