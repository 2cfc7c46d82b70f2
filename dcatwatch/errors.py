"""One error catalogue, as data, and the exception hierarchy built on it.

Every problem dcatwatch reports has a stable ``code`` (used in JSON output, the store, metric
labels and agency reports), a severity and a hint saying what to do about it.

Exceptions::

    DcatwatchError            any failure with a catalogue code, a message and maybe a URL
    ├── ConfigError           bad configuration (exit status 2)
    ├── UsageError            a command named what does not exist (exit status 2)
    ├── FetchError            the HTTP side: timeouts, refused addresses, caps, bad statuses
    ├── ParseError            a document that is not (valid, safe) RDF
    └── StoreFault            the database cannot be used: read-only, full, locked, wrong schema
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

Severity = Literal["error", "warning", "info"]


@dataclass(frozen=True, slots=True)
class ErrorType:
    """One entry of the error catalogue."""

    code: str
    severity: Severity
    title: str
    hint: str
    publisher: bool = True  # the publisher can fix it: agencies' reports show it


_ENTRIES = [
    ErrorType("config.invalid", "error", "Invalid configuration",
              "Fix the named key in the configuration file or environment variable.",
              publisher=False),
    ErrorType("usage.unknown_name", "error", "No such source or agency",
              "Use a name the configuration (`dcatwatch sources`) or the store "
              "(`dcatwatch datasets`, `dcatwatch scores`) knows; the message suggests the "
              "closest one.",
              publisher=False),
    ErrorType("fetch.timeout", "error", "The server did not answer in time",
              "Check that the URL is right and the server is up; raise [http] timeouts if it is slow."),
    ErrorType("fetch.connection", "error", "Could not connect",
              "Check the host name and that the server accepts connections."),
    ErrorType("fetch.http_status", "error", "The server answered with an error status",
              "Open the URL in a browser; the publisher must fix the endpoint or the source URL."),
    ErrorType("fetch.too_large", "error", "The response is larger than the configured cap",
              "Raise [http] max_bytes if the catalogue really is this large."),
    ErrorType("fetch.decompression_bomb", "error", "The compressed response expands beyond the cap",
              "The response looks hostile or broken; ask the publisher to check the endpoint."),
    ErrorType("fetch.bad_encoding", "error", "The response's Content-Encoding is unsupported or corrupt",
              "The publisher's server must send gzip, deflate or no encoding, and a complete body."),
    ErrorType("fetch.too_many_redirects", "error", "Too many redirects",
              "Point the source at the final URL or ask the publisher to fix the redirect loop."),
    ErrorType("fetch.refused_address", "error", "Refused: the URL resolves to a private address",
              "Only public addresses are fetched; set [http] allow_private_networks = true for tests.",
              publisher=False),
    ErrorType("fetch.refused_scheme", "error", "Refused: only http and https URLs are fetched",
              "Use an http(s) URL for the source.",
              publisher=False),
    ErrorType("fetch.invalid_url", "error", "The URL is not valid",
              "Correct the URL in the configuration or ask the publisher to correct the link."),
    ErrorType("parse.syntax", "error", "The document is not valid RDF",
              "Validate the document (e.g. with an RDF validator) and fix the syntax at the position given."),
    ErrorType("parse.not_rdf", "error", "The response is not an RDF document",
              "Point the source at the DCAT-AP catalogue (RDF/XML, Turtle, JSON-LD …), not a web page."),
    ErrorType("parse.unsafe_xml", "error", "The XML declares a DTD or entities, which are refused",
              "Remove the DOCTYPE/ENTITY declarations: DCAT-AP RDF/XML never needs them."),
    ErrorType("parse.recovered", "warning", "The document has syntax errors; a lenient parser read it",
              "Fix the syntax error named: stricter harvesters (and future versions) may reject it."),
    ErrorType("parse.crashed", "error", "The parser process died on this document",
              "The document is hostile or far too large; check it by hand before harvesting again."),
    ErrorType("parse.remote_context", "error", "The JSON-LD document needs a remote @context",
              "Inline the @context in the document, or map its URL to a local file in [jsonld] "
              "local_contexts, or allow it to be fetched in [jsonld] allowed_contexts."),
    ErrorType("parse.stale_context", "warning",
              "A remote JSON-LD @context could not be fetched; its stored copy was used",
              "Nothing to do if it passes: the context is fetched again next harvest. If it "
              "persists, check the context URL in [jsonld] allowed_contexts.",
              publisher=False),
    ErrorType("parse.too_deep", "error", "The JSON-LD document is nested deeper than allowed",
              "JSON-LD for DCAT-AP needs a few levels of nesting; flatten the document (or raise "
              "[harvest] jsonld_max_depth if it really is this deep).",
              publisher=False),
    ErrorType("page.loop", "warning", "A paging link points back to a page already read",
              "Fix the hydra:next / rel=next links of the catalogue's paging."),
    ErrorType("page.cap", "warning", "Stopped paging at the configured maximum number of pages",
              "Raise the source's max_pages if the catalogue really has more pages."),
    ErrorType("page.failed", "error", "A page or sub-catalogue could not be read",
              "See the error of that URL; the run is partial and removes nothing."),
    ErrorType("record.no_iri", "warning", "A record is a blank node (it has no IRI)",
              "Give every catalogue, dataset and distribution an absolute HTTP IRI."),
    ErrorType("record.relative_iri", "warning", "A relative IRI was resolved against the document URL",
              "Use absolute IRIs in the catalogue."),
    ErrorType("record.invalid", "error", "A record could not be mapped and was skipped",
              "Fix the record named; the rest of the catalogue was harvested."),
    ErrorType("record.no_publisher", "warning", "A dataset has no dct:publisher",
              "Add dct:publisher to the dataset (mandatory in DCAT-AP-SE)."),
    ErrorType("record.tolerated", "warning",
              "A misspelt or wrong-namespace property was read as the one meant",
              "Use the property named in the message (e.g. dcat:distribution, not "
              "dct:distribution): other harvesters drop the value."),
    ErrorType("meta.distribution.format_conflict", "warning",
              "The declared format contradicts the file the URL names",
              "Correct dct:format / dcat:mediaType (or the URL): the file's suffix, e.g. .pdf, "
              "was taken as the format."),
    ErrorType("run.held_removals", "warning", "Removals held back by the mass-deletion guard",
              "Check the source; confirm with `dcatwatch harvest --confirm-removals SOURCE`.",
              publisher=False),
    ErrorType("report.not_scored", "warning", "The agency has no score snapshot yet",
              "Run `dcatwatch scores --snapshot` (the daemon does after each harvest) first.",
              publisher=False),
    ErrorType("run.busy", "error", "Another harvest of the source was running",
              "Nothing was changed; the running harvest (the daemon's or a command's) goes on. "
              "Harvest again when it is done.",
              publisher=False),
    ErrorType("run.too_many_datasets", "error",
              "The source lists more datasets than [harvest] max_datasets allows",
              "Nothing was changed; raise [harvest] max_datasets if the source really is this "
              "large.",
              publisher=False),
    ErrorType("run.internal", "error", "An unexpected internal error",
              "This is a bug in dcatwatch: please report it with the log.",
              publisher=False),
    ErrorType("record.publisher_literal", "warning",
              "A dct:publisher is a text, not an agent",
              "Give dct:publisher as an agent: an IRI (e.g. the dataportal.se organisation IRI) "
              "or a foaf:Agent with foaf:name, not a plain text.",
              publisher=False),  # shown to agencies once reports/texts have its texts
    ErrorType("record.empty_value", "warning",
              "A property has an empty value (an empty element or rdf:resource=\"\")",
              "Remove the empty element or give it a value; it was ignored.",
              publisher=False),  # shown to agencies once reports/texts have its texts
    ErrorType("store.read_only", "error", "The database cannot be written",
              "Make the database file and its directory writable for the user dcatwatch runs "
              "as (or the database user may write), or point [database] url elsewhere.",
              publisher=False),
    ErrorType("store.full", "error", "The database's disk (or quota) is full",
              "Free space on the disk holding the database (or raise its quota), then run again.",
              publisher=False),
    ErrorType("store.locked", "error", "The database stayed locked past the busy timeout",
              "Another process holds a long write (a harvest, a backup, a migration); wait for "
              "it to finish and run again.",
              publisher=False),
    ErrorType("store.schema", "error", "The database schema does not match this dcatwatch",
              "Older schema: run `dcatwatch db upgrade`. Newer schema: run the dcatwatch "
              "version that wrote it.",
              publisher=False),
    ErrorType("report.smtp_unreachable", "error", "The SMTP server could not be reached",
              "Check [smtp] host, port and security (e.g. 587 with starttls, 465 with ssl), "
              "that the server runs and that it accepts connections from this machine; the "
              "reports stay queued for the next run.",
              publisher=False),
    ErrorType("report.smtp_refused", "error", "The SMTP server would not let dcatwatch send",
              "Check [smtp] username and the password in the variable [smtp] password_env, "
              "and that the server relays for [smtp] sender; the reports stay queued.",
              publisher=False),
    ErrorType("harvest.workdir_full", "error", "The harvest's work directory is full",
              "Free space on the disk of [harvest] workdir (default: the system's temporary "
              "directory) or point it at a larger disk, then harvest again; nothing was "
              "changed.",
              publisher=False),
    ErrorType("harvest.workdir_unusable", "error",
              "The harvest's work directory cannot be written",
              "Make [harvest] workdir an existing directory the user dcatwatch runs as may "
              "write (or unset it for the system's temporary directory); nothing was changed.",
              publisher=False),
    ErrorType("record.too_large", "error",
              "A record has more triples than [harvest] max_subject_triples allows",
              "Nothing from the document was used and the run changed nothing (the last good "
              "harvest stays): a DCAT record needs a few dozen triples, so fix the record "
              "named, or raise [harvest] max_subject_triples if it really is this large."),
    ErrorType("fetch.host_unavailable", "warning",
              "Not checked: the host failed several checks in a row this round",
              "Nothing to do yet: the link is checked again next round. If it persists, check "
              "the monitor's network and the host.",
              publisher=False),
    ErrorType("fetch.rate_limited", "warning",
              "Not checked: the server asked to be asked later (429 Too Many Requests)",
              "Nothing to do: the link is checked again next round, more slowly.",
              publisher=False),
]

CATALOGUE: dict[str, ErrorType] = {entry.code: entry for entry in _ENTRIES}


def lookup(code: str) -> ErrorType:
    """The catalogue entry for ``code`` (KeyError for an unknown code: a bug)."""
    return CATALOGUE[code]


class DcatwatchError(Exception):
    """A failure with a catalogue code, a message and, where there is one, the URL and the
    dataset (IRI) it concerns."""

    def __init__(self, code: str, message: str, url: str | None = None,
                 dataset: str | None = None) -> None:
        lookup(code)
        super().__init__(message)
        self.code = code
        self.message = message
        self.url = url
        self.dataset = dataset

    @property
    def hint(self) -> str:
        return lookup(self.code).hint

    def to_dict(self) -> dict[str, Any]:
        """The JSON shape used in command output and the store: ``{code, message, url}``,
        plus ``dataset`` when one is named."""
        data: dict[str, Any] = {"code": self.code, "message": self.message, "url": self.url}
        if self.dataset is not None:
            data["dataset"] = self.dataset
        return data

    def __str__(self) -> str:
        where = f" ({self.url})" if self.url else ""
        return f"{self.code}: {self.message}{where}"


class ConfigError(DcatwatchError):
    """Bad configuration; the message names the key."""

    def __init__(self, key: str, problem: str, file: str | None = None) -> None:
        where = f" in {file}" if file else ""
        super().__init__("config.invalid", f"{key}: {problem}{where}")
        self.key = key


class UsageError(DcatwatchError):
    """A command named a source or agency that does not exist; the message says which
    option and suggests the closest known name."""

    def __init__(self, option: str, problem: str) -> None:
        super().__init__("usage.unknown_name", f"{option}: {problem}")
        self.option = option


Blame = Literal["agency", "monitor", "unknown"]


class FetchError(DcatwatchError):
    """The HTTP side failed (timeout, refused address, cap, error status …).

    ``cause`` says, where the client saw the socket error, what kind it was (``dns_temporary``,
    ``dns_failed``, ``no_such_host``, ``refused``, ``reset``, ``unreachable``, ``tls``,
    ``timeout``; None: an HTTP status or a rule of ours); :attr:`blame` follows from it.
    """

    def __init__(self, code: str, message: str, url: str | None = None,
                 status: int | None = None, cause: str | None = None) -> None:
        super().__init__(code, message, url)
        self.status = status
        self.cause = cause

    @property
    def blame(self) -> Blame:
        """Whose failure this is: ``agency`` when the other side answered (an HTTP status,
        refused, reset, a bad certificate, a host name that does not exist), ``monitor`` when
        we could not ask (temporary DNS failure, no route, a host skipped or rate-limited this
        round), ``unknown`` for a timeout (the caller judges it against other hosts)."""
        return blame_of(self.code, self.cause)

    def to_dict(self) -> dict[str, Any]:
        """:meth:`DcatwatchError.to_dict` plus, where the client saw the socket error,
        ``cause`` and ``blame`` (so a stored harvest error still says whose failure it was)."""
        data = super().to_dict()
        if self.cause is not None:
            data["cause"] = self.cause
            data["blame"] = self.blame
        return data


MONITOR_CAUSES = frozenset({"dns_temporary", "dns_failed", "unreachable"})


def blame_of(code: str, cause: str | None) -> Blame:
    """:attr:`FetchError.blame` from a stored ``code`` and ``cause``."""
    if cause in MONITOR_CAUSES or code in ("fetch.host_unavailable", "fetch.rate_limited"):
        return "monitor"
    if cause == "timeout" or code == "fetch.timeout":
        return "unknown"
    return "agency"


def failure_blame(errors: list[dict[str, Any]]) -> Blame:
    """Whose failure a failed run was, from its stored errors: ``monitor`` when every error is
    the monitor's own (it could not ask: its DNS or route failed), ``agency`` when one is the
    publisher's to fix, else ``unknown`` (timeouts, an interrupted run, an internal error).
    Warnings beside the failure (a recovered parse, an invalid record) are not its cause."""
    blames = set()
    for error in errors:
        code = str(error.get("code") or "")
        entry = CATALOGUE.get(code)
        if code.startswith("fetch."):
            blames.add(blame_of(code, error.get("cause")))
        elif entry is not None and entry.severity != "error":
            continue  # a warning beside the failure did not fail the run
        elif entry is not None and entry.publisher:
            blames.add("agency")
        else:
            blames.add("unknown")
    if blames == {"monitor"}:
        return "monitor"
    return "agency" if "agency" in blames else "unknown"


class ParseError(DcatwatchError):
    """The document is not valid or safe RDF; names the syntax and the position."""

    def __init__(self, code: str, message: str, url: str | None = None,
                 syntax: str | None = None, line: int | None = None,
                 column: int | None = None) -> None:
        super().__init__(code, message, url)
        self.syntax = syntax
        self.line = line
        self.column = column


class StoreFault(DcatwatchError):
    """The database cannot be used as it is (``store.*``): the message names the file or
    server and says what to do; commands print it as one line and exit 1."""
