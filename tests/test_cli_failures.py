"""Failure paths an operator meets, each one clear line with its code and exit status, no
traceback: a full disk under the database or the work directory, a closed output pipe, an
unsupported database, an unreachable SMTP server, unknown names and variables."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller

from tests.conftest import FIXTURES
from tests.helpers import harvest_json, run, write_config
from tests.servers import LoopbackServer
from tests.test_reports import REGISTRY, Mailbox, free_port

CATALOG = (FIXTURES / "agency-catalog.ttl").read_bytes()
DATASET = "https://data.example.se/dataset/skattesatser"  # in the fixture catalogue


def dcatwatch(config: Path, *args: str, prefix: tuple[str, ...] = (),
              env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """``python -m dcatwatch --config CONFIG ARGS`` as a real process (after ``prefix``)."""
    return subprocess.run([*prefix, sys.executable, "-m", "dcatwatch", "--config", str(config),
                           *args], capture_output=True, text=True, timeout=180,
                          env=env)


def one_line(done: subprocess.CompletedProcess[str], status: int, start: str) -> str:
    """The one line on stderr of a command that failed as it should."""
    assert done.returncode == status, (done.returncode, done.stderr, done.stdout)
    assert "Traceback" not in done.stderr
    line = done.stderr.strip()
    assert "\n" not in line, line
    assert line.startswith(start), line
    return line


def big_catalogue(datasets: int) -> bytes:
    """A Turtle catalogue of ``datasets`` datasets with a distribution each (~1.2 kB each)."""
    lines = ["@prefix dcat: <http://www.w3.org/ns/dcat#> .",
             "@prefix dct: <http://purl.org/dc/terms/> .",
             "<https://data.example.se/catalog> a dcat:Catalog ; dct:title \"Stor\"@sv ."]
    for i in range(datasets):
        lines.append(
            f"<https://data.example.se/catalog> dcat:dataset <https://data.example.se/d/{i}> .\n"
            f"<https://data.example.se/d/{i}> a dcat:Dataset ; dct:title \"Datamängd {i}\"@sv ;"
            f" dct:description \"{'Beskrivning av en datamängd. ' * 20}{i}\"@sv ;"
            f" dct:publisher <https://data.example.se/agency/{i % 7}> ;"
            f" dcat:distribution [ a dcat:Distribution ;"
            f" dcat:accessURL <https://data.example.se/files/{i}.csv> ;"
            f" dcat:mediaType \"text/csv\" ] .")
    return "\n".join(lines).encode()


def private_mount(script: str) -> tuple[str, ...]:
    """``unshare -m sh -c SCRIPT sh``: SCRIPT (ending in ``"$@"``) runs in a private mount
    namespace, where it may mount a small tmpfs that no other process sees."""
    unshare = shutil.which("unshare")
    if unshare is None or os.geteuid() != 0:
        pytest.skip("needs root and unshare(1) for a small tmpfs")
    probe = subprocess.run([unshare, "-m", "true"], capture_output=True)
    if probe.returncode != 0:
        pytest.skip(f"unshare -m not permitted here: {probe.stderr.decode().strip()}")
    return (unshare, "-m", "sh", "-c", script, "sh")


def test_database_disk_filling_during_the_harvest_is_store_full(
        server: LoopbackServer, tmp_path: Path) -> None:
    """A real full file system: the database on a 4 MB tmpfs with 400 kB left once the
    schema is in, then a harvest whose 2 000 datasets need more. The fault is one line
    (``store.full``), not ``run.internal`` with SQL, and the run is recorded failed."""
    small = tmp_path / "small"
    small.mkdir()
    url = server.route("/big.ttl", big_catalogue(2000), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "big", "type": "dcat", "url": url}],
                          database=f"sqlite:///{small}/x.db")
    command = f"{sys.executable} -m dcatwatch --config {config}"
    script = (f"mount -t tmpfs -o size=4m tmpfs {small} && {command} db upgrade >/dev/null && "
              f"avail=$(df --output=avail -k {small} | tail -1) && "
              f"head -c $(( (avail - 400) * 1024 )) /dev/zero > {small}/filler && "
              f"{command} harvest; echo \"exit=$?\" >&2; {command} runs --json --kind harvest")
    done = subprocess.run([*private_mount(script)], capture_output=True, text=True, timeout=180)
    if "mount:" in done.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    harvest_err, _, after = done.stderr.partition("exit=")
    assert after.strip() == "1", done.stderr
    assert "Traceback" not in harvest_err
    line = harvest_err.strip()
    assert "\n" not in line and line.startswith("dcatwatch: store.full: "), line
    assert f"the database file {small}/x.db cannot grow: the disk or quota is full" in line
    assert "INSERT" not in line and "run.internal" not in done.stdout
    [harvest] = json.loads(done.stdout[done.stdout.index("["):])
    assert harvest["status"] == "failed"  # not left running
    assert "cannot grow: the disk or quota is full" in harvest["error"]


def test_work_directory_on_a_full_disk_is_one_coded_error(
        server: LoopbackServer, tmp_path: Path) -> None:
    """[harvest] workdir on a 256 kB tmpfs; the 2.4 MB download cannot be kept there."""
    small = tmp_path / "work"
    small.mkdir()
    url = server.route("/big.ttl", big_catalogue(2000), content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "big", "type": "dcat", "url": url}],
                          harvest={"workdir": str(small)})
    done = dcatwatch(config, "harvest", "--json",
                     prefix=private_mount(f"mount -t tmpfs -o size=256k tmpfs {small} && "
                                          "exec \"$@\""))
    if "mount:" in done.stderr:
        pytest.skip(f"cannot mount a tmpfs here: {done.stderr.strip()}")
    assert done.returncode == 1
    assert "Traceback" not in done.stderr
    [result] = json.loads(done.stdout)
    assert result["status"] == "failed"
    [error] = result["errors"]
    assert error["code"] == "harvest.workdir_full"
    assert error["message"].startswith(f"the work directory {small} is full (OSError: "
                                       "[Errno 28] No space left on device)")
    [log] = [json.loads(line) for line in done.stderr.splitlines()]  # one log line
    assert log["code"] == "harvest.workdir_full" and log["level"] == "warning"


def test_a_work_directory_that_does_not_exist_is_one_coded_error(
        server: LoopbackServer, tmp_path: Path) -> None:
    url = server.route("/c.ttl", CATALOG, content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "src", "type": "dcat", "url": url}],
                          harvest={"workdir": str(tmp_path / "missing")})
    status, [result] = harvest_json(config)
    assert status == 1
    [error] = result["errors"]
    assert error["code"] == "harvest.workdir_unusable"
    assert f"the work directory {tmp_path / 'missing'} cannot be written" in error["message"]


@pytest.fixture
def harvested(server: LoopbackServer, tmp_path: Path) -> Path:
    url = server.route("/c.ttl", CATALOG, content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "src", "type": "dcat", "url": url}])
    assert harvest_json(config)[0] == 0
    return config


@pytest.mark.parametrize("command", [("scores", "--json"), ("datasets", "--json"),
                                     ("explain", DATASET, "--json"), ("config", "docs"),
                                     ("sources",), ("runs",)])
def test_a_closed_pipe_ends_quietly(harvested: Path, command: tuple[str, ...]) -> None:
    """``dcatwatch … | head``, with the reader gone before the first line is written."""
    reader, writer = os.pipe()
    os.close(reader)  # the reader has gone before the command writes anything
    try:
        done = subprocess.run([sys.executable, "-m", "dcatwatch", "--config", str(harvested),
                               *command], stdout=writer, stderr=subprocess.PIPE, text=True,
                              timeout=120)
    finally:
        os.close(writer)
    assert (done.returncode, done.stderr) == (0, "")


def test_only_a_closed_stdout_pipe_is_taken_for_one(monkeypatch: pytest.MonkeyPatch) -> None:
    """A BrokenPipeError from elsewhere (a socket) while stdout is fine stays a bug."""
    from dcatwatch import cli

    reader, writer = os.pipe()
    with open(writer, "w") as stdout:
        monkeypatch.setattr(sys, "stdout", stdout)
        assert cli._stdout_closed() is False  # the reader is still there
        os.close(reader)
        assert cli._stdout_closed() is True
        monkeypatch.undo()


def test_config_check_refuses_a_database_the_commands_cannot_use(tmp_path: Path) -> None:
    config = write_config(tmp_path, [], database="mysql://u@h/db")
    line = one_line(dcatwatch(config, "config", "check"), 2,
                    "dcatwatch: configuration error: database.url: ")
    assert "'mysql' is not supported ('mysql://***@h/db'); expected sqlite:///FILE or " \
           "postgresql+psycopg://USER@HOST/DB" in line
    line = one_line(dcatwatch(write_config(tmp_path, [], database="not a url"), "config",
                              "check"), 2, "dcatwatch: configuration error: database.url: ")
    assert "'not a url' is not a database URL" in line


def test_config_check_warns_about_the_smtp_defaults_only_when_reports_would_use_them(
        tmp_path: Path) -> None:
    agencies = [{"id": "1", "name": "A", "email": "a@example.se"}]
    status, out, err = run("--config", str(write_config(tmp_path, [], agencies=agencies)),
                           "config", "check")
    assert (status, out) == (0, "configuration OK: 0 sources, 1 agencies, 2 warnings\n")
    host, sender = err.strip().splitlines()
    assert host.startswith("dcatwatch: warning: smtp.host: reports to 1 agencies with an "
                           "e-mail address would go to localhost:25 without TLS")
    assert "smtp.sender: " in sender and "dcatwatch@example.se" in sender
    configured = write_config(tmp_path, [], agencies=agencies, smtp={
        "host": "smtp.example.se", "port": 587, "security": "starttls",
        "sender": "rapporter@example.se"})
    assert run("--config", str(configured), "config", "check", "--strict")[:2] == \
        (0, "configuration OK: 0 sources, 1 agencies\n")
    opted_out = write_config(tmp_path, [], agencies=[agencies[0] | {"reports": False}])
    assert run("--config", str(opted_out), "config", "check")[2] == ""


def test_config_check_json(tmp_path: Path) -> None:
    agencies = [{"id": "1", "name": "A", "email": "a@example.se"}]
    config = write_config(tmp_path, [], agencies=agencies)
    status, out, err = run("--config", str(config), "config", "check", "--json", "--strict")
    found = json.loads(out)
    assert (status, err, found["ok"], found["agencies"]) == (2, "", False, 1)
    assert [w.split(":")[0] for w in found["warnings"]] == ["smtp.host", "smtp.sender"]


def test_report_send_to_an_unreachable_smtp_server_names_it(
        server: LoopbackServer, tmp_path: Path) -> None:
    port = free_port()  # nothing listens here
    url = server.route("/c.ttl", CATALOG, content_type="text/turtle")
    config = write_config(tmp_path, [{"name": "src", "type": "dcat", "url": url}],
                          agencies=REGISTRY[:1], smtp={"host": "127.0.0.1", "port": port,
                                                       "timeout": 5})
    assert harvest_json(config)[0] == 0
    done = dcatwatch(config, "report", "send", "--period", "2026-05")
    assert done.returncode == 1 and "Traceback" not in done.stderr
    lines = done.stdout.strip().splitlines()
    summary, failure = lines[0], lines[-1]  # between them: a first score snapshot was taken
    assert summary.startswith("reports for 2026-05: 0 sent, 1 failed")
    assert failure.startswith(f"  {REGISTRY[0]['id']}: report.smtp_unreachable: cannot reach "
                              f"the SMTP server 127.0.0.1:{port} (security = none): "
                              "ConnectionRefusedError")
    assert failure.endswith("check [smtp] host, port and security and that the server "
                            "accepts connections from this machine")
    done = dcatwatch(config, "report", "send", "--period", "2026-05", "--json")
    sent = json.loads(done.stdout)
    assert sent["sent"] == [] and "report.smtp_unreachable" in sent["failed"][REGISTRY[0]["id"]]
    mailbox = Mailbox()  # the server comes up: the queued report goes, once
    controller = Controller(mailbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        done = dcatwatch(config, "report", "send", "--period", "2026-05", "--json")
    finally:
        controller.stop()
    assert json.loads(done.stdout)["sent"] == [REGISTRY[0]["id"]]
    assert len(mailbox.messages) == 1


@pytest.mark.parametrize(("command", "line"), [
    (("datasets", "--agency", "999"),
     "dcatwatch: usage.unknown_name: --agency: unknown agency '999' (known: "),
    (("datasets", "--agency", "2021005449"),
     "dcatwatch: usage.unknown_name: --agency: unknown agency '2021005449'; did you mean "
     "'2021005448'?"),
    (("datasets", "--agency", "Skateverket"),
     "dcatwatch: usage.unknown_name: --agency: unknown agency 'Skateverket'; did you mean "
     "'2021005448' (Skatteverket)?"),
    (("datasets", "--source", "sr"),
     "dcatwatch: usage.unknown_name: --source: unknown source 'sr'; did you mean 'src'?"),
    (("runs", "--source", "nosuch"),
     "dcatwatch: usage.unknown_name: --source: unknown source or agency 'nosuch' (known: "),
    (("runs", "--source", "srcc"),
     "dcatwatch: usage.unknown_name: --source: unknown source or agency 'srcc'; did you mean "
     "'src'?"),
    (("harvest", "scr"),
     "dcatwatch: usage.unknown_name: SOURCE: unknown source 'scr'; did you mean 'src'?"),
    (("validate", "--source", "nosuch"),
     "dcatwatch: usage.unknown_name: --source: unknown source 'nosuch' (known: src)"),
    (("coverage", "--agency", "999"), "dcatwatch: usage.unknown_name: --agency: unknown "),
    (("report", "send", "--agency", "2021005449"),
     "dcatwatch: usage.unknown_name: --agency: unknown agency '2021005449'; did you mean "),
    (("report", "preview", "--agency", "999", "--out", "x"),
     "dcatwatch: usage.unknown_name: --agency: unknown agency '999'"),
])
def test_unknown_names_suggest_the_closest_and_exit_2(
        harvested: Path, command: tuple[str, ...], line: str) -> None:
    status, out, err = run("--config", str(harvested), *command)
    assert (status, out) == (2, "")
    assert err.strip().startswith(line) and "\n" not in err.strip(), err


def test_known_names_still_list(harvested: Path) -> None:
    status, out, _ = run("--config", str(harvested), "datasets", "--agency", "2021005448")
    assert status == 0 and DATASET in out
    assert run("--config", str(harvested), "runs", "--source", "src")[0] == 0


def test_unknown_dcatwatch_variables_are_warned_about(harvested: Path) -> None:
    env = dict(os.environ, DCATWATCH_SMPT_HOST="mail.example.se", DCATWATCH_WHATEVER="1",
               DCATWATCH_SMTP_HOST="mail.example.se")
    done = dcatwatch(harvested, "runs", env=env)
    assert done.returncode == 0
    assert done.stderr.splitlines() == [
        "dcatwatch: warning: environment variable DCATWATCH_SMPT_HOST sets nothing and is "
        "ignored; did you mean DCATWATCH_SMTP_HOST?",
        "dcatwatch: warning: environment variable DCATWATCH_WHATEVER sets nothing and is "
        "ignored; settings are DCATWATCH_<SECTION>_<KEY> (`dcatwatch config docs`)"]
    done = dcatwatch(harvested, "config", "check", "--strict", env=env)
    assert done.returncode == 2 and done.stderr.count("sets nothing") == 2  # listed once


@pytest.mark.parametrize(("nickname", "fields"), [
    ("@daily", "0 0 * * *"), ("@HOURLY", "0 * * * *"), ("@weekly", "0 0 * * 0"),
    ("@monthly", "0 0 1 * *"), ("@yearly", "0 0 1 1 *"), ("@midnight", "0 0 * * *")])
def test_cron_nicknames_mean_their_fields(nickname: str, fields: str) -> None:
    from datetime import UTC, datetime, timedelta

    from dcatwatch.cron import crontab

    start = datetime(2026, 3, 1, 12, 30, tzinfo=UTC)
    ours, theirs = crontab(nickname), crontab(fields)
    moment = start
    for _ in range(5):  # the same fire times, one after the other
        fire = ours.get_next_fire_time(None, moment)
        assert fire == theirs.get_next_fire_time(None, moment)
        moment = fire + timedelta(seconds=1)


def test_cron_nicknames_in_the_configuration(tmp_path: Path) -> None:
    source = {"name": "src", "type": "dcat", "url": "https://data.example.se/c.ttl"}
    ok = write_config(tmp_path, [source | {"schedule": "@daily"}],
                      reports={"schedule": "@monthly"}, daemon={"link_recheck": "@weekly"})
    assert run("--config", str(ok), "config", "check")[:2] == \
        (0, "configuration OK: 1 sources, 0 agencies\n")
    bad = write_config(tmp_path, [source | {"schedule": "@reboot"}])
    status, _, err = run("--config", str(bad), "config", "check")
    assert status == 2
    assert "sources[0] (src).schedule: cannot use the cron '@reboot': '@reboot' is not a " \
           "cron nickname (known: @yearly" in err
