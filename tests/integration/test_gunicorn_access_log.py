"""Gunicorn's access log holds no private-link token, however the link is spelled.

A real gunicorn runs the Procfile's web line (its logger class and access-log options,
read from the Procfile itself) in front of a tiny WSGI app, so no database is needed.
"""

from __future__ import annotations

import http.client
import re
import secrets
import shlex
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import unquote

import pytest
from gunicorn.config import KNOWN_SETTINGS

ROOT = Path(__file__).resolve().parents[2]
APP = "tests.integration.tiny_wsgi:app"
EVERY_ATOM = (
    '%(h)s %(l)s %(u)s %(t)s "%(r)s" %(s)s %(b)s "%(f)s" "%(a)s" U=%(U)s q=%(q)s '
    'ref=%({referer}i)s next=%({x-next}i)s loc=%({location}o)s raw=%({raw_uri}e)s '
    'path=%({path_info}e)s qs=%({query_string}e)s eref=%({http_referer}e)s'
)


def procfile_web_options() -> dict[str, str]:
    """The options of the Procfile's ``web:`` gunicorn command, defaults of ``${X:-d}`` in."""
    line = next(line for line in (ROOT / "Procfile").read_text().splitlines()
                if line.startswith("web:"))
    words = shlex.split(re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", line.removeprefix("web:")))
    assert words[0] == "gunicorn", words
    options, rest = {}, words[2:]  # words[1] is the application
    while rest:
        name = rest.pop(0)
        assert name.startswith("--"), name
        options[name] = rest.pop(0) if rest and not rest[0].startswith("--") else ""
    return options


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def serve_and_log(tmp_path: Path, requests: list[tuple[str, dict]], **overrides: str) -> str:
    """Start gunicorn as the Procfile does, make ``requests``, stop it; return the access log.

    The error log is left in ``tmp_path / "error.log"``.
    """
    options = procfile_web_options()
    assert "--access-logfile" in options, "the Procfile's web line writes an access log"
    port = free_port()
    log = tmp_path / "access.log"
    options.update({"--workers": "1", "--bind": f"127.0.0.1:{port}",
                    "--access-logfile": str(log), "--error-logfile": str(tmp_path / "error.log"),
                    **overrides})
    argv = [sys.executable, "-m", "gunicorn", APP,
            *[part for name, value in options.items() for part in (name, value) if part]]
    if any(setting.name == "control_socket_disable" for setting in KNOWN_SETTINGS):
        # gunicorn 25.1+ opens a control socket shared by every gunicorn of this user.
        argv.append("--no-control-socket")
    server = subprocess.Popen(argv, cwd=ROOT)
    try:
        deadline = time.monotonic() + 60
        while True:
            assert server.poll() is None, f"gunicorn exited with {server.returncode}"
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                assert time.monotonic() < deadline, "gunicorn did not answer within 60 s"
                time.sleep(0.1)
        for path, headers in requests:
            connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
            connection.request("GET", path, headers=headers)  # sent as written, not re-encoded
            connection.getresponse().read()
            connection.close()
    finally:
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=30)
    return log.read_text()


def encoded(text: str) -> str:
    return "".join(f"%{ord(c):02X}" for c in text)


@pytest.fixture
def links() -> tuple[list[str], list[tuple[str, dict]]]:
    """Tokens as the app makes them, and requests that spell their links every way."""
    tokens = [secrets.token_urlsafe(32) for _ in range(13)]
    t = tokens
    referer = {"Referer": f"https://outcomes.example.org/s/{t[0]}/1/",
               "X-Next": f"/s/{t[1]}/done/"}
    requests = [
        (f"/s/{t[2]}/", referer),
        (f"/s/%39{t[3]}/", referer),  # as the pen test sent it: %39 is "9"
        (f"/s/{encoded(t[4])}/2/", referer),
        (f"/s%2F{t[5]}%2F", referer),
        (f"/s%2f{t[6]}%2f3%2f", referer),
        (f"/%73/{t[7]}/", referer),
        (f"/s/{t[8][:10]}%2F{t[8][10:]}/", referer),  # decoded by gunicorn: /s/…/…/
        (f"/s/{t[9][:10]}%20{t[9][10:]}/", referer),
        (f"/s/{t[10]}/done/?next=%2Fs%2F{t[11]}%2F", referer),
        (f"/login/?u=https%3A%2F%2Fh%2Fs%252F{t[12]}%252F", referer),
    ]
    return tokens, requests


def assert_no_token(log: str, tokens: list[str]) -> None:
    readable = unquote(unquote(log))  # a token spelled %41%42… is a token still
    for token in tokens:
        for start in range(len(token) - 7):
            fragment = token[start:start + 8]
            assert fragment not in log and fragment not in readable, (fragment, log)


def test_the_procfile_access_log_holds_no_token(tmp_path, links):
    tokens, requests = links
    log = serve_and_log(tmp_path, requests)
    lines = log.splitlines()
    assert len(lines) == len(requests), log
    assert all('"GET /' in line and " 302 " in line for line in lines), log
    assert "/s/[token]/" in log
    assert_no_token(log, tokens)


def test_every_access_log_atom_is_redacted(tmp_path, links):
    tokens, requests = links
    log = serve_and_log(tmp_path, requests, **{"--access-logformat": EVERY_ATOM})
    lines = log.splitlines()
    assert len(lines) == len(requests), log
    assert all('"GET /' in line and " 302 " in line for line in lines), log
    assert all("outcomes.example.org/s/[token]/1/" in line and "next=/s/[token]/done/" in line
               for line in lines), log
    assert_no_token(log, tokens)


def test_the_error_log_names_a_failed_request_without_its_token(tmp_path, links):
    tokens, _ = links
    log = serve_and_log(tmp_path, [(f"/s/{tokens[0]}/boom/", {}),
                                   (f"/s/{encoded(tokens[1])}/boom/", {})])
    errors = (tmp_path / "error.log").read_text()
    assert errors.count("Error handling request GET /s/[token]/\n") == 2, errors
    assert log.count(" 500 ") == 2, log
    assert_no_token(errors, tokens)
    assert_no_token(log, tokens)


def test_the_systemd_unit_and_the_load_bench_run_gunicorn_as_the_procfile_does():
    from bench.loadstack import stack

    procfile = procfile_web_options()
    unit = (ROOT / "deploy/systemd/outcomes-web.service").read_text()
    exec_start = re.search(r"^ExecStart=(.*)$", unit.replace("\\\n", " "), re.M)[1]
    words = shlex.split(exec_start.replace("%%", "%"))  # systemd reads %% as %
    unit_options = dict(zip(words[2::2], words[3::2], strict=False))
    for name in ("--logger-class", "--access-logfile", "--access-logformat"):
        assert unit_options.get(name) == procfile[name], name
    bench = {"--logger-class": stack.LOGGER_CLASS, "--access-logformat": stack.ACCESS_LOG_FORMAT}
    assert bench == {name: procfile[name] for name in bench}
