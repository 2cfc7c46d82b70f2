"""Sending over SMTP: plain, STARTTLS or implicit TLS (``[smtp] security``), with login,
timeouts and a few reconnects within one run.

TLS always verifies the server's certificate and host name against the system's CA store
(``SSL_CERT_FILE`` / ``SSL_CERT_DIR`` point it elsewhere); STARTTLS that the server does not
offer is an error, never a fall-back to plain text. The password is read from the
environment variable named by ``[smtp] password_env``, never from the configuration file.

A message goes out as MAIL, RCPT, then DATA. Before the DATA command the sender asks its
caller (``before_data``) whether it may go on, which is where the outbox records the
hand-over. A failure before DATA is a plain :class:`DeliveryError` (retried); a timeout or a
lost connection after DATA is :class:`DeliveryUnknown`: the server may have taken the
message, so it is never retried here.
"""

from __future__ import annotations

import os
import smtplib
import ssl
from collections.abc import Callable, Mapping
from typing import NoReturn, Self, cast

from tenacity import RetryCallState, Retrying, retry_if_exception_type, stop_after_attempt
from tenacity.wait import wait_exponential

from dcatwatch.config import ReportsSettings, SmtpSettings
from dcatwatch.errors import ConfigError

_REFUSED_SESSION = (smtplib.SMTPAuthenticationError, smtplib.SMTPSenderRefused,
                    smtplib.SMTPNotSupportedError)
"""The server will not let us send at all: retrying in this run cannot help."""
_REFUSED_MESSAGE = (smtplib.SMTPRecipientsRefused, smtplib.SMTPDataError)
"""The server refused this message (4xx: try again, 5xx: not now)."""


class DeliveryError(Exception):
    """A message was not accepted.

    ``session``: the server could not be reached or would not let us send at all, so the
    other messages of this run would fail the same way.
    """

    def __init__(self, message: str, *, session: bool) -> None:
        super().__init__(message)
        self.session = session


class DeliveryUnknown(DeliveryError):
    """DATA was sent, but no reply came (timeout, lost connection): maybe delivered."""

    def __init__(self, message: str) -> None:
        super().__init__(message, session=True)


class _Again(Exception):
    """An attempt failed in a way another attempt may mend; ``failure`` is the error to
    raise if it was the last."""

    def __init__(self, failure: DeliveryError) -> None:
        super().__init__(str(failure))
        self.failure = failure


def _last_failure(state: RetryCallState) -> NoReturn:
    """Every attempt failed: the last one's error."""
    assert state.outcome is not None
    raise cast(_Again, state.outcome.exception()).failure from None


class ClaimLost(DeliveryError):
    """``before_data`` said no: another sender took the report over; DATA was not sent."""

    def __init__(self) -> None:
        super().__init__("another sender took the report over before DATA", session=False)


def _reply_code(error: smtplib.SMTPException) -> int | None:
    if isinstance(error, smtplib.SMTPRecipientsRefused):
        return next((code for code, _ in error.recipients.values()), None)
    return getattr(error, "smtp_code", None)


def _describe(error: BaseException) -> str:
    return f"{type(error).__name__}: {error}"


def _reason(error: BaseException) -> str:
    """The error's kind and text, on one line (an SMTP reply may span several)."""
    return " ".join(_describe(error).split())


def unreachable(settings: SmtpSettings, error: BaseException) -> str:
    """``report.smtp_unreachable: cannot reach the SMTP server HOST:PORT …: what to check``."""
    return (f"report.smtp_unreachable: cannot reach the SMTP server {settings.host}:"
            f"{settings.port} (security = {settings.security}): {_reason(error)}; check "
            "[smtp] host, port and security and that the server accepts connections from "
            "this machine")


def refused(settings: SmtpSettings, error: BaseException) -> str:
    """``report.smtp_refused: the SMTP server HOST:PORT will not let us send …``."""
    return (f"report.smtp_refused: the SMTP server {settings.host}:{settings.port} will not "
            f"let dcatwatch send: {_reason(error)}; check [smtp] username, the password in "
            "[smtp] password_env and that the server relays for [smtp] sender "
            f"({settings.sender})")


class SmtpSender:
    """One SMTP session, opened on first use and reopened after a transient failure."""

    def __init__(self, settings: SmtpSettings, options: ReportsSettings,
                 environ: Mapping[str, str] | None = None) -> None:
        self.settings = settings
        self.options = options
        self.password = None
        if settings.username:
            name = settings.password_env
            environ = os.environ if environ is None else environ
            if not name or name not in environ:
                raise ConfigError("smtp.password_env", "the SMTP username is set, so name an "
                                  "environment variable that holds the password, and set it")
            self.password = environ[name]
        self._connection: smtplib.SMTP | None = None

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *_exc: object) -> None:
        self.close()

    def close(self) -> None:
        """End the session (QUIT), ignoring a server that has gone away."""
        connection, self._connection = self._connection, None
        if connection is None:
            return
        try:
            connection.quit()
        except (smtplib.SMTPException, OSError):
            connection.close()

    def _connect(self) -> smtplib.SMTP:
        if self._connection is not None:
            return self._connection
        s = self.settings
        context = ssl.create_default_context()
        connection: smtplib.SMTP
        if s.security == "ssl":
            connection = smtplib.SMTP_SSL(s.host, s.port, timeout=s.timeout, context=context)
        else:
            connection = smtplib.SMTP(s.host, s.port, timeout=s.timeout)
        try:
            connection.ehlo()
            if s.security == "starttls":
                connection.starttls(context=context)
                connection.ehlo()
            if s.username and self.password is not None:
                connection.login(s.username, self.password)
        except BaseException:
            connection.close()
            raise
        self._connection = connection
        return connection

    def send(self, recipient: str, message: bytes,
             before_data: Callable[[], bool] | None = None) -> None:
        """Hand ``message`` to the server for ``recipient``; DeliveryError if it is not taken,
        DeliveryUnknown if DATA was sent and no answer came, ClaimLost if ``before_data``
        (called just before each DATA command) returns False.

        tenacity makes ``[reports] retries`` more attempts after a refusal that may pass (4xx)
        or a failure to reach the server, pausing ``retry_backoff`` seconds, doubling.
        """
        retrying = Retrying(retry=retry_if_exception_type(_Again),
                            stop=stop_after_attempt(self.options.retries + 1),
                            wait=wait_exponential(multiplier=self.options.retry_backoff),
                            retry_error_callback=_last_failure)
        retrying(self._attempt, recipient, message, before_data)

    def _attempt(self, recipient: str, message: bytes,
                 before_data: Callable[[], bool] | None) -> None:
        """One MAIL, RCPT and DATA; _Again when another attempt may succeed."""
        data_sent = False
        try:
            connection = self._connect()
            self._envelope(connection, recipient)
            if before_data is not None and not before_data():
                self._reset()
                raise ClaimLost()
            data_sent = True
            code, reply = connection.data(message)
            if code != 250:
                raise smtplib.SMTPDataError(code, reply)
        except _REFUSED_SESSION as error:
            self.close()
            raise DeliveryError(refused(self.settings, error), session=True) from None
        except _REFUSED_MESSAGE as error:  # a reply: the server did not take it
            self._reset()
            code = _reply_code(error)
            failure = DeliveryError(_describe(error), session=False)
            if code is None or code >= 500:
                raise failure from None
            raise _Again(failure) from None
        except OSError as error:  # connection, TLS, timeout, disconnect (SMTPException too)
            connecting = self._connection is None  # set once EHLO, TLS and login passed
            self.close()
            if data_sent:
                raise DeliveryUnknown(_describe(error)) from None
            raise _Again(DeliveryError(unreachable(self.settings, error) if connecting
                                       else _describe(error), session=True)) from None

    def _envelope(self, connection: smtplib.SMTP, recipient: str) -> None:
        """MAIL FROM and RCPT TO, raising as ``smtplib.SMTP.sendmail`` does."""
        connection.ehlo_or_helo_if_needed()
        code, reply = connection.mail(self.settings.sender)
        if code != 250:
            if code == 421:
                self.close()
            raise smtplib.SMTPSenderRefused(code, reply, self.settings.sender)
        code, reply = connection.rcpt(recipient)
        if code not in (250, 251):
            if code == 421:
                self.close()
            raise smtplib.SMTPRecipientsRefused({recipient: (code, reply)})

    def _reset(self) -> None:
        """Clear a refused transaction so the session can carry the next message."""
        if self._connection is None:
            return
        try:
            self._connection.rset()
        except (smtplib.SMTPException, OSError):
            self.close()
