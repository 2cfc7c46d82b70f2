"""Settings: one declarative table (pydantic models), read from TOML, then the environment.

Precedence: built-in defaults < the TOML file < ``DCATWATCH_<SECTION>_<KEY>`` environment
variables (e.g. ``DCATWATCH_DATABASE_URL``, ``DCATWATCH_HTTP_ALLOW_PRIVATE_NETWORKS``) <
command-line flags. The file is ``--config``, else ``$DCATWATCH_CONFIG``, else
``./dcatwatch.toml``. Any problem raises :class:`~dcatwatch.errors.ConfigError` naming the key.
Field descriptions are the reference documentation (``dcatwatch config docs``).
"""

from __future__ import annotations

import ipaddress
import os
import re
import tomllib
from pathlib import Path
from collections.abc import Iterator, Mapping
from typing import Annotated, Any, Literal
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, ValidationError, field_validator

from dcatwatch.errors import ConfigError
from dcatwatch.names import closest

DEFAULT_FILE = "dcatwatch.toml"
ENV_FILE = "DCATWATCH_CONFIG"
ENV_PREFIX = "DCATWATCH_"
Language = Literal["sv", "en"]  # of reports


def without_userinfo(url: str) -> str:
    """``url`` with any ``user:password@`` part shown as ``***@``: for messages."""
    return re.sub(r"(?<=//)[^/?#@\s]*@", "***@", url, count=1)


def _check_cron(schedule: str) -> str:
    """Parse ``schedule`` as the daemon will (:func:`dcatwatch.cron.crontab`), so
    loading a configuration refuses what ``serve`` would; imported here, on the first cron,
    to keep ``import dcatwatch.config`` free of APScheduler."""
    from dcatwatch.cron import crontab

    try:
        crontab(schedule)
    except ValueError as exc:
        raise ValueError(f"cannot use the cron {schedule!r}: {exc}") from None
    return schedule


# 5 fields, Europe/Stockholm time, as the daemon reads them.
Cron = Annotated[str, AfterValidator(_check_cron)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


DATABASES = ("sqlite", "postgresql")  # the back ends the store and its migrations support


class DatabaseSettings(Section):
    url: str = Field("sqlite:///dcatwatch.db",
                     description="SQLAlchemy URL: sqlite:///FILE or postgresql+psycopg://USER@HOST/DB.")

    @field_validator("url")
    @classmethod
    def _supported(cls, url: str) -> str:
        """Refuse, as loading does, a database the commands would refuse (MySQL, a typo)."""
        from sqlalchemy.engine import make_url
        from sqlalchemy.exc import ArgumentError

        try:
            backend = make_url(url).get_backend_name()
        except ArgumentError:
            raise ValueError(f"{without_userinfo(url)!r} is not a database URL; expected "
                             "sqlite:///FILE or postgresql+psycopg://USER@HOST/DB") from None
        if backend not in DATABASES:
            raise ValueError(f"{backend!r} is not supported ({without_userinfo(url)!r}); "
                             "expected sqlite:///FILE or postgresql+psycopg://USER@HOST/DB")
        return url


class ServerSettings(Section):
    host: str = Field("127.0.0.1", description="Address the daemon's HTTP endpoints listen on.")
    port: int = Field(9108, ge=0, le=65535, description="Port of /metrics, /healthz and /readyz.")


class HttpSettings(Section):
    allow_private_networks: bool = Field(
        False, description="Allow loopback and private addresses (tests and demos only).")
    connect_timeout: float = Field(10.0, gt=0, description="Seconds to wait for a connection.")
    read_timeout: float = Field(60.0, gt=0, description="Seconds to wait between bytes.")
    total_timeout: float = Field(900.0, gt=0, description="Seconds one fetch may take in all.")
    max_bytes: int = Field(1 << 30, gt=0, description="Largest response body accepted, in bytes.")
    max_wire_bytes: int | None = Field(None, gt=0, description="Largest compressed body on the "
                                       "wire (default: max_bytes).")
    max_expansion_ratio: float = Field(200.0, gt=1, description="A compressed body expanding "
                                       "more than this (beyond 10 MB) is refused as a bomb.")
    max_redirects: int = Field(10, ge=0, description="Redirects followed per fetch.")
    retries: int = Field(3, ge=0, description="Retries on connection errors, 429 and 5xx.")
    backoff_base: float = Field(1.0, ge=0, description="First retry pause in seconds "
                                "(doubles, jittered).")
    backoff_max: float = Field(30.0, ge=0, description="Longest pause between retries, in seconds.")
    retry_after_max: float = Field(120.0, ge=0, description="Longest Retry-After honoured; a "
                                   "longer one fails the fetch.")
    min_delay: float = Field(1.0, ge=0, description="Seconds between two requests to one host.")
    user_agent: str | None = Field(None, description="User-Agent header (default identifies "
                                   "dcatwatch).")
    allowed_networks: list[str] = Field(
        default_factory=list, description="CIDR ranges allowed even though private (e.g. an "
        "intranet catalogue); link-local and metadata addresses are always refused. From the "
        "environment: comma-separated.")

    @field_validator("allowed_networks")
    @classmethod
    def _cidrs(cls, networks: list[str]) -> list[str]:
        for network in networks:
            try:
                ipaddress.ip_network(network, strict=False)
            except ValueError:
                raise ValueError(f"{network!r} is not an IP network like '10.1.0.0/16'") from None
        return networks


class HarvestSettings(Section):
    removal_threshold: float = Field(
        0.3, ge=0, le=1,
        description="A run removing more than this share of a source's datasets is held.")
    removal_hold_hours: float = Field(
        72.0, ge=0, description="Held removals apply once the shrink has lasted this many "
        "hours across at least 3 successful runs (or at once with `harvest "
        "--confirm-removals SOURCE`).")
    max_pages: int = Field(1000, ge=1, description="Most pages read from one paged source.")
    workdir: str | None = Field(None, description="Where downloads are kept while parsed "
                                "(default: the system's temporary directory).")
    max_datasets: int = Field(2_000_000, ge=1, description="Most datasets one run of a source "
                              "may list; more fails the run (run.too_many_datasets), which "
                              "then removes nothing.")
    parser_memory_mb: int = Field(512, ge=64, description="Address-space cap of the parser "
                                  "child process, in MiB; a document needing more fails "
                                  "(parse.crashed) instead of exhausting the machine.")
    jsonld_max_depth: int = Field(100, ge=8, description="Deepest JSON nesting a JSON-LD "
                                  "document may have; deeper ones are refused (parse.too_deep) "
                                  "before parsing.")
    memory_triples: int = Field(300_000, ge=1, description="Triples of one document grouped "
                                "in memory (about 200 bytes each); a larger document is "
                                "grouped in a temporary file in `workdir`, slower but in "
                                "memory that does not grow with it.")
    max_subject_triples: int = Field(100_000, ge=100, description="Most triples one record "
                                     "(subject) may have, a catalogue's dataset list not "
                                     "counted; a document with a larger one fails the run "
                                     "(record.too_large), which then changes nothing, instead "
                                     "of taking the harvest's memory with it.")


class SourceAuth(Section):
    username: str
    password_env: str = Field(description="Environment variable holding the password.")


class SourceSettings(Section):
    name: str = Field(pattern=r"^[a-z0-9_-]+$", max_length=64,
                      description="Unique source name, [a-z0-9_-]; used as a metric label.")
    type: Literal["dcat", "dataportal"] = Field(description="dcat (a DCAT-AP endpoint) or "
                                                "dataportal.")
    url: str = Field(description="The catalogue URL (or the EntryStore base in search mode).")
    schedule: Cron = Field("0 5 * * *", description="Cron (5 fields), Europe/Stockholm time.")
    enabled: bool = Field(True, description="Disabled sources are neither scheduled nor harvested.")
    mode: Literal["dump", "search"] = Field("dump", description="dataportal: dump or search API.")
    organisations: list[str] = Field(default_factory=list,
                                     description="dataportal search mode: orgnrs to harvest.")
    syntax: Literal["rdfxml", "turtle", "ntriples", "nquads", "trig", "jsonld"] | None = Field(
        None, description="Force the RDF syntax instead of detecting it.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra request headers.")
    auth: SourceAuth | None = Field(None, description="HTTP basic authentication.")
    timeout: float | None = Field(None, gt=0, description="Overrides [http] read_timeout.")
    min_delay: float | None = Field(None, ge=0, description="Overrides [http] min_delay.")
    max_pages: int | None = Field(None, ge=1, description="Overrides [harvest] max_pages.")
    removal_threshold: float | None = Field(None, ge=0, le=1,
                                            description="Overrides [harvest] removal_threshold.")
    agency: str | None = Field(None, min_length=1, max_length=64, description="Agency id given "
                               "to the source's datasets and services that name no publisher "
                               "(neither their own nor their catalogue's); without it they "
                               "count as unattributed.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, url: str) -> str:
        if not re.match(r"^https?://[^/\s]+", url):
            raise ValueError(f"must be an http(s) URL, got {without_userinfo(url)!r}")
        if "@" in urlsplit(url).netloc:
            raise ValueError(
                f"{without_userinfo(url)!r} carries a user name or password in the URL, which "
                "would be stored and printed: remove it and give them as [sources.auth] "
                "username and password_env (the environment variable holding the password)")
        return url



class SmtpSettings(Section):
    host: str = Field("localhost", description="SMTP server.")
    port: int = Field(25, ge=1, le=65535, description="SMTP port.")
    security: Literal["none", "starttls", "ssl"] = Field("none", description="Transport security.")
    sender: str = Field("dcatwatch@example.se", description="From address of reports.")
    username: str | None = Field(None, description="SMTP login, if the server wants one.")
    password_env: str | None = Field(None, description="Environment variable holding the password.")
    timeout: float = Field(30.0, gt=0, description="Seconds per SMTP operation.")


class DaemonSettings(Section):
    max_concurrent_harvests: int = Field(4, ge=1, description="Harvests running at once (at "
                                         "most one per source).")
    max_concurrent_checks: int = Field(2, ge=1, description="Validations (link and data "
                                       "checks) running at once, in their own pool beside the "
                                       "harvests; scores do not wait for them. Their link "
                                       "checks go to the link engine's process. More than 2 "
                                       "mostly take interpreter time from the harvests.")
    shutdown_grace: float = Field(25.0, ge=0, description="Seconds SIGTERM/SIGINT waits for "
                                  "running work; keep it under the orchestrator's grace.")
    misfire_grace: float = Field(300.0, gt=0, description="Seconds a scheduled job may start "
                                 "late before that run is skipped and counted as missed.")
    retry_failed_after: float = Field(3600.0, ge=0, description="Seconds before a failed "
                                      "source is tried again; 0 waits for its next cron time.")
    link_recheck: Cron = Field("0 3 * * 0", description="Cron (Europe/Stockholm) of the full "
                              "link and data validation run.")



class ValidationSettings(Section):
    recheck_hours: float = Field(24.0, ge=0, description="A URL checked more recently than "
                                 "this is not asked again.")
    workers: int = Field(8, ge=1, description="Data files downloaded and validated at the same "
                         "time (each download waits for its host's turn in the link engine).")
    in_flight: int = Field(200, ge=1, description="Link checks and data downloads in flight at "
                           "once across all hosts (one at a time per host, `[http] min_delay` "
                           "apart).")
    link_timeout: float = Field(20.0, gt=0, description="Seconds a link check may wait.")
    confirm_after_hours: float = Field(6.0, ge=0, description="A link the agency's server "
                                       "fails is reported and costs points only when a second "
                                       "check at least this much later fails too.")
    host_failures: int = Field(3, ge=1, description="Circuit breaker: after this many link "
                               "checks in a row on one host fail on the connection or with "
                               "5xx, its other links wait for the next round.")
    progress_seconds: float = Field(10.0, gt=0, description="`validate` not on a terminal: "
                                    "seconds between progress log lines.")
    data: bool = Field(True, description="Validate the data of tabular distributions "
                       "(frictionless).")
    data_timeout: float = Field(120.0, gt=0, description="Seconds one sample download may take.")
    sample_bytes: int = Field(10 << 20, gt=0, description="CSV/TSV: validate at most this many "
                              "first bytes (the result is marked sampled).")
    max_file_bytes: int = Field(50 << 20, gt=0, description="XLSX/XLS/ODS/JSON larger than "
                                "this are skipped, not validated.")
    row_limit: int = Field(10_000, ge=1, description="Rows frictionless reads per file.")
    error_limit: int = Field(100, ge=1, description="frictionless stops after this many errors.")
    examples: int = Field(5, ge=0, description="Error examples kept per file.")
    missing_values: list[str] = Field(default_factory=lambda: ["", ".."], description="Cell "
                                      "values meaning 'no value' ('..' is SCB's).")
    metadata: bool = Field(True, description="Check the DCAT-AP-SE metadata rules.")
    shacl: bool = Field(True, description="Check changed descriptions against the DCAT-AP "
                        "3.0.1 SHACL shapes (MQA's 30 compliance points; off: unknown).")


class ReportsSettings(Section):
    language: Language = Field("sv", description="Default report language; an "
                               "agency's own `language` overrides it.")
    schedule: Cron = Field("0 7 * * *", description="Cron for the daemon's report job (Europe/"
                          "Stockholm). Daily: a month's report is queued on its first run, "
                          "later runs only retry what is unsent.")
    top_fixes: int = Field(5, ge=1, description="Fixes shown in full in a report.")
    datasets_per_fix: int = Field(10, ge=1, description="Datasets named under each fix.")
    dataset_rows: int = Field(30, ge=0, description="Rows of the per-dataset evidence table.")
    history_months: int = Field(12, ge=1, description="Months in the index-over-time chart.")
    max_attempts: int = Field(10, ge=1, description="SMTP attempts per report before it is "
                              "left as failed.")
    retries: int = Field(2, ge=0, description="Reconnects within one run after a transient "
                         "SMTP error.")
    retry_backoff: float = Field(1.0, ge=0, description="Seconds before the first reconnect "
                                 "(doubles).")
    claim_lease: float = Field(900.0, gt=0, description="Seconds a sender's claim on one "
                               "report lasts; a claim whose sender died before DATA can be "
                               "taken over after it. Longer than one delivery with its "
                               "reconnects may take.")
    reply_to: str | None = Field(None, description="Reply-To of reports (questions, opting "
                                 "out), also their List-Unsubscribe address; unset: the sender.")


class QueueSettings(Section):
    backend: Literal["local", "postgres"] = Field(
        "local", description="`local`: the in-process scheduler (one `serve`); `postgres`: "
        "every `serve` is a procrastinate worker sharing jobs through `[database] url` "
        "(PostgreSQL only).")
    concurrency: int = Field(2, ge=1, description="Jobs one `serve` runs at once (backend "
                             "`postgres`; `serve --concurrency N` overrides it).")
    stalled_after: float = Field(30.0, ge=2, description="Seconds without a worker heartbeat "
                                 "after which its running jobs are retried by another worker.")
    poll_interval: float = Field(5.0, gt=0, description="Seconds between job polls (LISTEN/"
                                 "NOTIFY wakes workers sooner).")
    lease_ttl: float = Field(30.0, ge=1, description="Seconds a worker's lease on a host (one "
                             "worker of the deployment asks a host at a time) lasts unless its "
                             "heartbeat renews it (every third of this): how long a dead "
                             "worker's hosts wait.")
    lease_poll: float = Field(1.0, gt=0, le=10, description="Seconds between tries for hosts "
                              "another worker holds (one query for all of them); a release "
                              "wakes the waiting workers at once (LISTEN/NOTIFY), so this "
                              "bounds how long an expired lease goes unnoticed.")


class WebSettings(Section):
    enabled: bool = Field(True, description="Serve the read-only web view (national, agency "
                          "and dataset pages: `/`, `/agency/<id>`, `/dataset?iri=…`) on the "
                          "[server] host and port, next to /metrics.")


class JsonLdSettings(Section):
    local_contexts: dict[str, str] = Field(
        default_factory=dict, description="Remote JSON-LD @context URL → local file with that "
        "context (air-gapped installs, tests); used instead of fetching it.")
    allowed_contexts: list[str] = Field(
        default_factory=list, description="Remote JSON-LD @context URLs that may be fetched "
        "(through the guarded HTTP client, kept in the store and revalidated with a "
        "conditional GET); any other remote context is refused.")

    @field_validator("local_contexts")
    @classmethod
    def _http_keys(cls, contexts: dict[str, str]) -> dict[str, str]:
        _http_urls(list(contexts))
        return contexts

    @field_validator("allowed_contexts")
    @classmethod
    def _http_urls(cls, urls: list[str]) -> list[str]:
        _http_urls(urls)
        return urls


def _http_urls(urls: list[str]) -> None:
    for url in urls:
        if not url.startswith(("http://", "https://")):
            raise ValueError(f"{url!r} is not an http(s) URL")


class AgencySettings(Section):
    id: str = Field(pattern=r"^[A-Za-z0-9_.-]+$", max_length=64,
                    description="Organisation number (or another stable id).")
    name: str = Field(description="The agency's name (Swedish).")
    email: str | None = Field(None, description="Where its quality report goes.")
    aliases: list[str] = Field(default_factory=list,
                               description="Publisher IRIs that also mean this agency.")
    language: Literal["sv", "en"] | None = Field(None, description="Report language override.")
    reports: bool = Field(True, description="False opts the agency out of e-mailed reports.")


class Settings(Section):
    database: DatabaseSettings = DatabaseSettings()
    server: ServerSettings = ServerSettings()
    http: HttpSettings = HttpSettings()
    harvest: HarvestSettings = HarvestSettings()
    smtp: SmtpSettings = SmtpSettings()
    daemon: DaemonSettings = DaemonSettings()
    validation: ValidationSettings = ValidationSettings()
    reports: ReportsSettings = ReportsSettings()
    jsonld: JsonLdSettings = JsonLdSettings()
    queue: QueueSettings = QueueSettings()
    web: WebSettings = WebSettings()
    sources: list[SourceSettings] = Field(default_factory=list)
    agencies: list[AgencySettings] = Field(default_factory=list)

    @field_validator("sources")
    @classmethod
    def _unique_sources(cls, sources: list[SourceSettings]) -> list[SourceSettings]:
        _unique([s.name for s in sources], "name")
        return sources

    @field_validator("agencies")
    @classmethod
    def _unique_agencies(cls, agencies: list[AgencySettings]) -> list[AgencySettings]:
        _unique([a.id for a in agencies], "id")
        return agencies

    def source(self, name: str) -> SourceSettings:
        """The source called ``name`` (ConfigError if none is)."""
        for source in self.sources:
            if source.name == name:
                return source
        names = [s.name for s in self.sources]
        match = closest(name, names)
        hint = f"did you mean {match!r}?" if match else \
            f"known: {', '.join(names) or 'none configured'}"
        raise ConfigError("sources", f"no source named {name!r}; {hint}")


def _unique(values: list[str], key: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"duplicate {key} {value!r}")
        seen.add(value)


def config_path(explicit: str | None = None) -> Path:
    """The configuration file to read: ``explicit``, else $DCATWATCH_CONFIG, else
    ./dcatwatch.toml."""
    return Path(explicit or os.environ.get(ENV_FILE) or DEFAULT_FILE)


def load(path: Path | None = None, environ: dict[str, str] | None = None) -> Settings:
    """Read settings from ``path`` (None: no file) and the environment."""
    raw: dict[str, Any] = {}
    file = str(path) if path else None
    if path is not None:
        try:
            raw = tomllib.loads(path.read_text(encoding="utf-8"))
        except FileNotFoundError:
            raise ConfigError("--config", f"file {path} not found (pass --config FILE or set "
                              f"{ENV_FILE})") from None
        except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            raise ConfigError("(file)", f"not valid TOML: {exc}", file) from None
    from_environment = _apply_environment(raw, os.environ if environ is None else environ)
    try:
        settings = Settings.model_validate(raw)
    except ValidationError as exc:
        error = exc.errors()[0]
        key = _key_path(raw, error["loc"])
        problem = error["msg"].removeprefix("Value error, ")
        if error["type"] == "extra_forbidden":
            problem = "unknown key (check the spelling against the configuration reference)"
        variable = from_environment.get(tuple(error["loc"][:2]))
        if variable:
            problem += f" (set by the environment variable {variable})"
        raise ConfigError(key, problem, None if variable else file) from None
    _check_queue(settings, file)
    return settings


def _check_queue(settings: Settings, file: str | None) -> None:
    """``[queue] backend = "postgres"`` shares jobs through ``[database] url``: PostgreSQL."""
    if settings.queue.backend == "postgres" and not settings.database.url.startswith("postgres"):
        raise ConfigError("queue.backend", "'postgres' needs a PostgreSQL database.url "
                          "(postgresql+psycopg://USER@HOST/DB), not "
                          f"{settings.database.url.split(':', 1)[0]!r}", file)


def _apply_environment(raw: dict[str, Any], environ: Any) -> dict[tuple[str, str], str]:
    """Put ``DCATWATCH_<SECTION>_<KEY>`` values into ``raw``; lists are comma-separated.

    Returns the variable that set each (section, key).
    """
    applied: dict[tuple[str, str], str] = {}
    for section, key, name, listed in _environment_names():
        if name not in environ or not isinstance(raw.setdefault(section, {}), dict):
            continue  # `database = "x"` in the file: validation names the key
        value = environ[name]
        if listed:
            value = [item.strip() for item in value.split(",") if item.strip()]
        raw[section][key] = value
        applied[section, key] = name
    return applied


def _environment_names() -> Iterator[tuple[str, str, str, bool]]:
    """(section, key, ``DCATWATCH_<SECTION>_<KEY>``, is a list) of every setting the
    environment may set (the keys of the sections, not of sources or agencies)."""
    for section, model in Settings.model_fields.items():
        annotation = model.annotation
        if not (isinstance(annotation, type) and issubclass(annotation, Section)):
            continue
        for key, field in annotation.model_fields.items():
            listed = getattr(field.annotation, "__origin__", None) is list
            yield section, key, f"{ENV_PREFIX}{section}_{key}".upper(), listed


ENV_NOT_SETTINGS = ("DCATWATCH_TEST_",)  # the test suite's own variables


def unknown_environment(settings: Settings, environ: Mapping[str, str] | None = None
                        ) -> list[str]:
    """A warning for each ``DCATWATCH_*`` variable that sets nothing (a misspelt name is
    otherwise silently ignored), naming the closest variable that does."""
    environ = os.environ if environ is None else environ
    known = {name for _section, _key, name, _listed in _environment_names()} | {ENV_FILE}
    known |= {s.auth.password_env for s in settings.sources if s.auth is not None}
    if settings.smtp.password_env:
        known.add(settings.smtp.password_env)
    by_key = {name.removeprefix(ENV_PREFIX): name for name in known}
    found = []
    for name in sorted(environ):
        if not name.startswith(ENV_PREFIX) or name in known or name.startswith(
                ENV_NOT_SETTINGS):
            continue
        match = closest(name.removeprefix(ENV_PREFIX), by_key)  # SMTP_HOST, not DCATWATCH_
        found.append(f"environment variable {name} sets nothing and is ignored; "
                     + (f"did you mean {by_key[match]}?" if match else
                        "settings are DCATWATCH_<SECTION>_<KEY> (`dcatwatch config docs`)"))
    return found


def _key_path(raw: dict[str, Any], location: tuple[Any, ...]) -> str:
    parts: list[str] = []
    node: Any = raw
    for part in location:
        if isinstance(part, int):
            label = ""
            if isinstance(node, list) and part < len(node) and isinstance(node[part], dict):
                label = node[part].get("name") or node[part].get("id") or ""
            parts[-1] += f"[{part}]" + (f" ({label})" if label else "")
            node = node[part] if isinstance(node, list) and part < len(node) else None
        else:
            parts.append(str(part))
            node = node.get(part) if isinstance(node, dict) else None
    return ".".join(parts) or "(file)"


# what allowed_networks is meant for: private, shared (CGNAT), loopback and unique-local ranges
PRIVATE_RANGES = tuple(ipaddress.ip_network(n) for n in (
    "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "100.64.0.0/10", "127.0.0.0/8",
    "fc00::/7", "::1/128"))
NEVER_FIRES_YEARS = 5  # a cron without a fire time this far ahead is taken to never fire


def warnings(settings: Settings) -> list[str]:
    """What is valid but almost surely not meant (``dcatwatch config check`` prints these):
    a cron that never fires (within :data:`NEVER_FIRES_YEARS` years, e.g. ``* * 31 2 *``),
    reports that would go through the ``[smtp]`` defaults, an ``[http] allowed_networks``
    range that holds public addresses and a ``DCATWATCH_*`` variable that sets nothing."""
    from datetime import UTC, datetime, timedelta

    from dcatwatch.cron import crontab

    found: list[str] = []
    crons = [(f"sources[{i}] ({s.name}).schedule", s.schedule)
             for i, s in enumerate(settings.sources) if s.enabled]
    crons += [("daemon.link_recheck", settings.daemon.link_recheck),
              ("reports.schedule", settings.reports.schedule)]
    now = datetime.now(UTC)
    horizon = now + timedelta(days=365 * NEVER_FIRES_YEARS)
    for key, expression in crons:
        fire = crontab(expression).get_next_fire_time(None, now)
        if fire is None or fire > horizon:
            found.append(f"{key}: the cron {expression!r} never fires (no time in the next "
                         f"{NEVER_FIRES_YEARS} years): check the day and month")
    found += _smtp_warnings(settings)
    for network in settings.http.allowed_networks:
        parsed = ipaddress.ip_network(network, strict=False)
        if not any(parsed.version == r.version and parsed.subnet_of(r)  # type: ignore[arg-type]
                   for r in PRIVATE_RANGES):
            found.append(f"http.allowed_networks: {network!r} holds public addresses, which "
                         "turns the address guard off for them: list only the private range "
                         "of the intranet catalogue (e.g. '10.1.0.0/16')")
    return found + unknown_environment(settings)


def _smtp_warnings(settings: Settings) -> list[str]:
    """Reports would go out through the built-in ``[smtp]`` defaults (plain SMTP to
    localhost:25, from dcatwatch@example.se) while agencies have addresses to get them."""
    addressed = [a.id for a in settings.agencies if a.email and a.reports]
    if not addressed:
        return []
    smtp, default = settings.smtp, SmtpSettings()
    found = []
    who = f"{len(addressed)} agencies with an e-mail address"
    if (smtp.host, smtp.port, smtp.security) == (default.host, default.port, default.security):
        found.append(f"smtp.host: reports to {who} would go to {smtp.host}:{smtp.port} without "
                     "TLS (the defaults): set [smtp] host, port and security (e.g. port 587 "
                     "with security = \"starttls\") to your mail relay")
    if smtp.sender == default.sender:
        found.append(f"smtp.sender: reports to {who} would come from {smtp.sender} (the "
                     "example default): set [smtp] sender to an address of yours")
    return found
