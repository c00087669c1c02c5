"""Fault tests: the broker stops, a worker dies mid-send, the database drops a submit.

Each test ends by counting what reached the patient (the messages a worker
delivered, the responses a visit holds) and what the database recorded:
nothing lost, nothing doubled, or, where a double cannot be avoided, exactly
the one the design admits (see docs/reliability.md, "Fault tests").

The fourth fault of the list, beat firing the periodic task twice at once, is
tested in ``test_celery_reminders.py``:
``test_two_workers_and_a_doubled_beat_send_no_reminder_twice``.

Real services only: worker processes on a real Redis broker, killed with a real
SIGKILL; real PostgreSQL backends terminated with ``pg_terminate_backend``.
Each test runs a ``redis-server`` of its own on a free port in 6390-6399 (it
stops and restarts it), never the shared one on 6379.
"""

from __future__ import annotations

import collections
import contextlib
import datetime as dt
import http.cookiejar
import os
import re
import shutil
import signal
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

import pytest
from django.db import connection
from django.db.backends.signals import connection_created
from django.urls import reverse
from django.utils import timezone

from outcomes.followups.links import ensure_link
from outcomes.followups.models import Reminder, ReminderAttempt, Visit
from outcomes.followups.tasks import send_due_reminders, send_reminder_task
from outcomes.instruments.models import Response, Score
from tests.conftest import service_missing
from tests.factories import enrol

from .conftest import Workers, _port_open, cohort, wait_for, worker_pool

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

REDIS_PORTS = range(6390, 6400)
CLAIM_TIMEOUT_MINUTES = 0.1  # 6 s instead of 15 min: a dead worker's claim goes stale quickly


# --- A broker of the test's own ---------------------------------------------------------

class RedisServer:
    """A ``redis-server`` owned by one test: stopped and started again on the same port.

    ``keep_queue=False`` is a broker that keeps nothing on disk (``--save ""
    --appendonly no``, as CI's own): a restart empties every queue.
    ``keep_queue=True`` writes an append-only file synced on every write, so
    queued and unacknowledged messages survive the restart.
    """

    def __init__(self, binary: str, folder: Path, *, keep_queue: bool):
        self.binary = binary
        self.folder = folder
        self.keep_queue = keep_queue
        self.port: int | None = None
        self.proc: subprocess.Popen | None = None
        folder.mkdir(parents=True, exist_ok=True)

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=5)

    def start(self) -> None:
        """Start on a free port, or on the same port again after ``stop``."""
        ports = [self.port] if self.port else [
            port for port in REDIS_PORTS if not _port_open("127.0.0.1", port)]
        for port in ports:
            if self._launch(port):
                self.port = port
                return
        pytest.fail(f"could not start redis-server on any of ports {ports}")

    def _launch(self, port: int) -> bool:
        import redis

        disk = (["--appendonly", "yes", "--appendfsync", "always"] if self.keep_queue
                else ["--appendonly", "no"])
        log = open(self.folder / "redis.log", "a")  # noqa: SIM115 (closed with the process)
        proc = subprocess.Popen(
            [self.binary, "--port", str(port), "--bind", "127.0.0.1", "--save", "",
             *disk, "--dir", str(self.folder), "--daemonize", "no"],
            stdout=log, stderr=subprocess.STDOUT,
        )
        client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if proc.poll() is not None:
                return False  # someone else took the port meanwhile
            with contextlib.suppress(redis.RedisError):
                # The server answering must be ours, not another test's on that port.
                if client.info("server")["process_id"] == proc.pid:
                    self.proc = proc
                    return True
            time.sleep(0.05)
        proc.kill()
        proc.wait()
        return False

    def stop(self) -> None:
        """Stop the server as an administrator would (SIGTERM), and wait until it is gone."""
        if self.proc and self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            self.proc.wait(timeout=20)
        self.proc = None

    def queued(self, queue: str = "celery") -> int:
        return self.client().llen(queue)

    def redeliver_unacknowledged(self, *, delivered_before: float) -> None:
        """Hand back the unacknowledged messages delivered before a time, as the broker does.

        kombu's Redis transport redelivers a message whose worker died without
        acknowledging it once ``visibility_timeout`` (3600 s here) has passed,
        from a sweep that live workers run. This runs that same sweep now, as if
        the hour were over for the messages delivered before ``delivered_before``
        (a ``time.time()``), and not for those live workers hold now.
        """
        from kombu import Connection

        age = time.time() - delivered_before
        with Connection(self.url, transport_options={"visibility_timeout": age}) as conn:
            conn.default_channel.qos.restore_visible(num=1000, interval=1)


# --- Workers whose sends can be held ----------------------------------------------------

TASK_DONE = re.compile(r"Task (?P<task>[\w.]+)\[[\w-]+\] succeeded in [\d.e-]+s: (?P<value>.*)")


class GatedWorkers(Workers):
    """Worker processes whose email sends wait at a gate the test opens (``gated_mail``)."""

    def __init__(self, broker: str, tmp: Path):
        super().__init__(broker, tmp)
        self.gate = tmp / "gate"
        self.gate.mkdir()
        self.env.update({
            "EMAIL_BACKEND": "tests.e2e.gated_mail.GatedEmailBackend",
            "OUTCOMES_TEST_MAIL_GATE": str(self.gate),
        })

    def start(self, name: str, concurrency: int = 1, *,
              claim_timeout_minutes: float = CLAIM_TIMEOUT_MINUTES) -> subprocess.Popen:
        self.env["REMINDER_CLAIM_TIMEOUT_MINUTES"] = str(claim_timeout_minutes)
        return super().start(name, concurrency)

    def hold(self, *, after_delivery: bool = False) -> None:
        """Hold sends at the gate: before the message is delivered, or just after."""
        (self.gate / "open").unlink(missing_ok=True)
        self.env["OUTCOMES_TEST_MAIL_HOLD"] = "after" if after_delivery else "before"

    def release(self) -> None:
        (self.gate / "open").touch()

    def held(self) -> list[tuple[int, str]]:
        """The sends waiting at the gate, as (pid of the process sending, recipient)."""
        return [(int(path.name.split("-")[1]), path.read_text())
                for path in sorted(self.gate.glob("held-*"))]

    def delivered(self) -> collections.Counter:
        """Messages that reached the mail folder (the provider), by recipient."""
        folder = self.tmp / "mail"
        if not folder.exists():
            return collections.Counter()
        return collections.Counter(
            address for path in folder.iterdir()
            for address in re.findall(r"^To: (.+)$", path.read_text(), re.MULTILINE))

    def log(self, name: str) -> str:
        return (self.tmp / f"{name}.log").read_text()

    def results(self, name: str, task) -> list[str]:
        """What ``task`` returned each time it ran in worker ``name``, from its log."""
        return [match["value"].strip("'") for match in TASK_DONE.finditer(self.log(name))
                if match["task"] == task.name]

    def kill(self, proc: subprocess.Popen, *, pool_process: int | None = None) -> None:
        """SIGKILL one pool process, or the whole worker: its main process, then its pool."""
        if pool_process is not None:
            os.kill(pool_process, signal.SIGKILL)
            wait_for(lambda: gone(pool_process), timeout=10, message="pool process gone")
            return
        pool = children_of(proc.pid)
        proc.send_signal(signal.SIGKILL)
        proc.wait(timeout=10)
        for pid in pool:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGKILL)
        for pid in pool:
            wait_for(lambda pid=pid: gone(pid), timeout=10, message="pool process gone")

    def stop(self) -> None:
        self.release()  # a send still held would keep its worker from stopping
        super().stop()


def children_of(pid: int) -> list[int]:
    children = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError):
            # The command name (field 2) may hold spaces: split after its closing ")".
            fields = stat.read_text().rsplit(")", 1)[1].split()
            if int(fields[1]) == pid:
                children.append(int(stat.parent.name))
    return children


def gone(pid: int) -> bool:
    try:
        state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
    except OSError:
        return True
    return state in ("Z", "X")  # a zombie has stopped running: only its exit status is left


@pytest.fixture
def broker(request, postgres_only, tmp_path):
    """A Redis of this test's own; ``queue-kept`` makes its queues survive a restart."""
    binary = shutil.which("redis-server")
    if binary is None:
        service_missing("redis-server is not installed")
    server = RedisServer(binary, tmp_path / "redis",
                         keep_queue=getattr(request, "param", "queue-lost") == "queue-kept")
    server.start()
    yield server
    server.stop()


@pytest.fixture
def pool(broker, tmp_path, settings):
    with worker_pool(broker.url, tmp_path, settings, pool_class=GatedWorkers) as workers:
        yield workers


def sent_once_each(pool: GatedWorkers, size: int, prefix: str = "e") -> None:
    """Each of ``size`` patients got exactly one message, and the database says the same."""
    expected = {f"{prefix}{n}@example.org": 1 for n in range(size)}
    assert pool.delivered() == expected
    assert Reminder.objects.count() == size
    assert Reminder.objects.filter(status="sent").count() == size
    assert ReminderAttempt.objects.filter(outcome="sent").count() == size
    assert not ReminderAttempt.objects.exclude(outcome="sent").exists()


def until_stale(reminder: Reminder, minutes: float = CLAIM_TIMEOUT_MINUTES) -> None:
    """Sleep until the claim on ``reminder`` is older than the workers' claim timeout."""
    stale_at = reminder.claimed_at + dt.timedelta(minutes=minutes)
    time.sleep(max(0.0, (stale_at - timezone.now()).total_seconds()) + 0.5)


def idle(pool: GatedWorkers, broker: RedisServer, name: str) -> bool:
    """Nothing queued, and worker ``name`` has finished every task it received."""
    log = pool.log(name)
    finished = (len(TASK_DONE.findall(log)) + log.count("] raised unexpected")
                + log.count("Task handler raised error"))  # a pool process lost mid-task
    return broker.queued() == 0 and log.count("] received") == finished


def wait_idle(pool: GatedWorkers, broker: RedisServer, name: str, quiet: float = 1.0) -> None:
    """Wait until worker ``name`` has been idle for ``quiet`` seconds in a row.

    In a row: a task just taken off the queue is logged as received a moment later.
    """
    since: float | None = None

    def settled() -> bool:
        nonlocal since
        if not idle(pool, broker, name):
            since = None
            return False
        since = since or time.monotonic()
        return time.monotonic() - since >= quiet

    wait_for(settled, message=f"worker {name} idle")


# --- 1. The broker stops while reminders are queued -------------------------------------

@pytest.mark.parametrize("broker", ["queue-lost", "queue-kept"], indirect=True)
def test_reminders_queued_when_the_broker_stops_all_go_out_once_after_it_restarts(
    study, broker, pool
):
    cohort(study, 6)
    pool.hold()
    pool.start("broker-w1")
    pool.enqueue(send_due_reminders)
    # The run planned six reminders and queued a task for each; the worker is in
    # the middle of sending the first, the other five wait in Redis.
    wait_for(lambda: len(pool.held()) == 1, message="the first send in progress")
    assert broker.queued() == 5
    assert Reminder.objects.filter(status="pending").count() == 5

    broker.stop()
    # Beat's next tick cannot even be published while the broker is down: it
    # fails loudly (beat logs it and ticks again later), it does not vanish.
    with pytest.raises(Exception, match=r"(?i)connect|refused"):
        pool.enqueue(send_due_reminders)
    pool.release()  # the send in progress finishes; its acknowledgement cannot reach Redis
    wait_for(lambda: Reminder.objects.filter(status="sent").count() == 1,
             message="the send in progress recorded")

    restarted_at = time.time()
    broker.start()
    wait_for(lambda: pool.log("broker-w1").count("Connected to redis") >= 2, timeout=90,
             message="the worker reconnected to the broker")
    if broker.keep_queue:
        # The five queued tasks survived the restart: the worker runs them.
        wait_for(lambda: Reminder.objects.filter(status="sent").count() == 6, timeout=90,
                 message="the five queued reminders sent after the restart")
    else:
        assert broker.queued() == 0  # the restart lost the five queued tasks
        assert Reminder.objects.filter(status="pending").count() == 5
    # Beat's next tick: the schedule lives in the database, so whatever is still
    # pending is queued again.
    pool.enqueue(send_due_reminders)
    wait_for(lambda: Reminder.objects.filter(status="sent").count() == 6, timeout=90,
             message="every due reminder sent")
    wait_idle(pool, broker, "broker-w1")
    # Whatever the broker still holds unacknowledged from before the restart (the
    # acknowledgement of the send in progress may never have landed) comes back,
    # in production an hour later: it finds its reminder sent and sends nothing.
    broker.redeliver_unacknowledged(delivered_before=restarted_at)
    pool.enqueue(send_due_reminders)
    wait_idle(pool, broker, "broker-w1")
    sent_once_each(pool, 6)
    results = pool.results("broker-w1", send_reminder_task)
    assert "sent" in results  # the log was read: an empty list would pass the next line
    assert set(results) <= {"sent", "claimed-elsewhere"}


def test_a_link_resent_while_the_broker_is_down_goes_out_once_when_it_is_back(
    study, broker, pool, client
):
    from django.contrib.auth.models import Group, User

    from patients.models import Site

    cohort(study, 1)
    visit = Visit.objects.get(enrolment__patient__code="E-000", timepoint__code="m1")
    coordinator = User.objects.create_user("coord", password="x" * 12)
    coordinator.groups.add(Group.objects.get_or_create(name="Coordinators")[0])
    Site.objects.get(code="MAIN").staff.add(coordinator)
    client.force_login(coordinator)
    broker.stop()

    # The coordinator asks for the link again while the broker is down: the
    # request is recorded and the page says so; no error invites a second click.
    reply = client.post(reverse("patients:resend", kwargs={
        "code": study.code, "patient_code": "E-000", "visit_id": visit.pk}))
    assert reply.status_code == 302
    assert Reminder.objects.get(kind="manual").status == "pending"

    broker.start()
    pool.release()
    pool.start("resend-w1")
    pool.enqueue(send_due_reminders)  # beat's next tick finds the request waiting
    wait_for(lambda: Reminder.objects.filter(status="sent").count() == 2,
             message="the invitation and the resent link sent")
    wait_idle(pool, broker, "resend-w1")
    assert pool.delivered() == {"e0@example.org": 2}
    assert set(Reminder.objects.values_list("kind", "status")) == {
        ("invitation", "sent"), ("manual", "sent")}


# --- 2. A worker is killed in the middle of a send --------------------------------------

def test_a_worker_killed_mid_send_sends_the_reminder_once_after_restart(study, broker, pool):
    cohort(study, 3)
    pool.hold()
    w1 = pool.start("kill-w1")
    pool.enqueue(send_due_reminders)
    wait_for(lambda: len(pool.held()) == 1, message="a send in progress")
    (_, victim), = pool.held()
    pool.kill(w1)  # SIGKILL, main process and pool, before the message left
    killed_at = time.time()
    reminder = Reminder.objects.get(visit__enrolment__patient__contact__email=victim)
    assert reminder.status == "sending"  # the claim, recorded before the send
    assert not pool.delivered()
    assert not ReminderAttempt.objects.exists()

    pool.release()
    # Long enough a claim timeout to see the claim still fresh after the restart.
    pool.start("kill-w2", claim_timeout_minutes=0.5)
    # The two other reminders were still queued: the new worker sends them.
    wait_for(lambda: Reminder.objects.filter(status="sent").count() == 2,
             message="the two queued reminders sent")
    wait_idle(pool, broker, "kill-w2")
    # The killed task was never acknowledged (acks_late): the broker delivers it
    # again. The claim is fresh, so it sends nothing; nor does a beat tick.
    broker.redeliver_unacknowledged(delivered_before=killed_at)
    wait_for(lambda: "claimed-elsewhere" in pool.results("kill-w2", send_reminder_task),
             message="the redelivered task refused by the claim")
    pool.enqueue(send_due_reminders)
    wait_idle(pool, broker, "kill-w2")
    reminder.refresh_from_db()
    assert timezone.now() < reminder.claimed_at + dt.timedelta(minutes=0.5), "test too slow"
    assert reminder.status == "sending"
    assert victim not in pool.delivered()

    # Once the claim is stale, beat's next tick offers the reminder again: sent once.
    until_stale(reminder, 0.5)
    pool.enqueue(send_due_reminders)
    wait_for(lambda: Reminder.objects.filter(status="sent").count() == 3,
             message="the killed reminder sent after its claim went stale")
    # Any further copy of the task (a late redelivery, a doubled tick) sends nothing.
    pool.enqueue(send_reminder_task, reminder.pk)
    pool.enqueue(send_due_reminders)
    wait_idle(pool, broker, "kill-w2")
    sent_once_each(pool, 3)
    reminder.refresh_from_db()
    assert reminder.attempts == 2  # the killed attempt and the one that went out
    assert reminder.last_error == ""


def test_a_pool_process_killed_mid_send_is_redelivered_and_sent_once(study, broker, pool):
    cohort(study, 1)
    pool.hold()
    w1 = pool.start("pool-w1")
    pool.enqueue(send_due_reminders)
    wait_for(lambda: len(pool.held()) == 1, message="a send in progress")
    (pid, _), = pool.held()
    pool.kill(w1, pool_process=pid)
    # The main process sees its pool process lost and, with acks_late and
    # reject_on_worker_lost, puts the task back on the queue at once; a fresh pool
    # process runs it again, finds the claim fresh and sends nothing.
    wait_for(lambda: pool.results("pool-w1", send_reminder_task) == ["claimed-elsewhere"],
             message="the requeued task refused by the claim")
    assert "WorkerLostError" in pool.log("pool-w1")
    assert Reminder.objects.get().status == "sending"
    assert not pool.delivered()

    pool.release()
    until_stale(Reminder.objects.get())
    pool.enqueue(send_due_reminders)
    wait_for(lambda: Reminder.objects.filter(status="sent").exists(),
             message="the reminder sent after its claim went stale")
    wait_idle(pool, broker, "pool-w1")
    sent_once_each(pool, 1)


def test_a_worker_killed_after_the_provider_accepted_sends_the_reminder_again(
    study, broker, pool
):
    """At least once, not exactly once: the design's one admitted double.

    The message left, the worker died before recording it: nothing in the
    database can tell this from a kill before the message left, so the stale
    claim is offered again and the patient gets the message twice.
    """
    cohort(study, 1)
    pool.hold(after_delivery=True)
    w1 = pool.start("late-w1")
    pool.enqueue(send_due_reminders)
    wait_for(lambda: len(pool.held()) == 1, message="a message delivered, not yet recorded")
    pool.kill(w1)
    killed_at = time.time()
    assert pool.delivered() == {"e0@example.org": 1}
    reminder = Reminder.objects.get()
    assert reminder.status == "sending"

    pool.release()
    pool.start("late-w2")
    until_stale(reminder)
    pool.enqueue(send_due_reminders)
    wait_for(lambda: Reminder.objects.filter(status="sent").exists(),
             message="the reminder sent again after its claim went stale")
    wait_idle(pool, broker, "late-w2")
    broker.redeliver_unacknowledged(delivered_before=killed_at)
    wait_for(lambda: "claimed-elsewhere" in pool.results("late-w2", send_reminder_task),
             message="the redelivered killed task refused (the reminder is sent)")
    wait_idle(pool, broker, "late-w2")
    assert pool.delivered() == {"e0@example.org": 2}
    assert ReminderAttempt.objects.filter(outcome="sent").count() == 1
    assert Reminder.objects.get().attempts == 2


# --- 3. PostgreSQL drops the connection during a patient's submit -----------------------

class Patient:
    """A patient's HTTP client: cookies, the form's CSRF token, redirects not followed."""

    class _NoRedirects(urllib.request.HTTPRedirectHandler):
        def redirect_request(self, *args, **kwargs):
            return None

    def __init__(self, base_url: str):
        self.base_url = base_url
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), self._NoRedirects)
        self.csrf = ""

    def request(self, path: str, data: dict | None = None) -> tuple[int, str, str]:
        body = None
        if data is not None:
            body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": self.csrf}).encode()
        try:
            with self.opener.open(self.base_url + path, body, timeout=30) as reply:
                status, html, location = reply.status, reply.read().decode(), ""
        except urllib.error.HTTPError as error:
            status, html = error.code, error.read().decode()
            location = error.headers.get("Location", "")
        found = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', html)
        if found:
            self.csrf = found[1]
        return status, html, location


def checked_answers(html: str) -> dict[str, str]:
    """The radio buttons checked on a page, as {name: value}."""
    answers = {}
    for tag in re.findall(r"<input\b[^>]*>", html):
        attributes = dict(re.findall(r'(\w+)="([^"]*)"', tag))
        if attributes.get("type") == "radio" and re.search(r"\schecked\b", tag):
            answers[attributes["name"]] = attributes["value"]
    return answers


def terminate_backend(pid: int) -> None:
    """End PostgreSQL backend ``pid`` from another connection, and wait until it is gone."""
    import psycopg2

    db = connection.settings_dict
    with contextlib.closing(psycopg2.connect(
        host=db["HOST"] or "127.0.0.1", port=db["PORT"] or 5432, user=db["USER"],
        password=db["PASSWORD"], dbname=db["NAME"],
    )) as other:
        other.autocommit = True
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s, 5000)", [pid])
            assert cursor.fetchone()[0] is True


@contextlib.contextmanager
def connection_dropped_before(sql: re.Pattern):
    """Terminate the backend of the first connection about to run a query matching ``sql``.

    Django's own hooks place it: every new connection (the live server opens one
    per request) gets an execute wrapper that, on the first matching query, has
    PostgreSQL end that connection's backend, then lets the query go to the dead
    connection. Yields the list of queries it fired on.
    """
    fired: list[str] = []

    def drop(execute, query, params, many, context):
        if not fired and sql.search(query):
            fired.append(query)
            terminate_backend(context["connection"].connection.get_backend_pid())
        return execute(query, params, many, context)

    def arm(sender, connection, **kwargs):
        connection.execute_wrappers.append(drop)

    connection_created.connect(arm)
    try:
        yield fired
    finally:
        connection_created.disconnect(arm)


SUBMIT_MOMENTS = {
    # submit_visit's first query: it locks the visit row.
    "at-the-visit-lock": re.compile(r'FROM "followups_visit" .* FOR UPDATE'),
    # Its last write: every response completed and scored, the visit marked
    # completed, the transaction not yet committed.
    "before-the-commit": re.compile(r'^UPDATE "followups_visit" SET "status"'),
}


@pytest.mark.parametrize("moment", SUBMIT_MOMENTS)
def test_a_connection_dropped_during_submit_keeps_the_answers_and_the_retry_stores_one_set(
    postgres_only, study, live_server, moment
):
    from tests.integration.survey.conftest import PAGES

    today = timezone.now().date()
    visit = enrol(study, "F-001", index_date=today, today=today).visits.get(
        timepoint__code="baseline")
    token = ensure_link(visit=visit)
    patient = Patient(live_server.url)

    def page(number: int) -> str:
        return reverse("survey:step", kwargs={"token": token, "number": number})

    for number, answers in enumerate(PAGES[:-1], start=1):
        patient.request(page(number))
        status, _, location = patient.request(page(number), {**answers, "action": "next"})
        assert (status, location) == (302, page(number + 1))
    last = {code: str(value) for code, value in PAGES[-1].items()}
    patient.request(page(4))

    with connection_dropped_before(SUBMIT_MOMENTS[moment]) as fired:
        status, html, _ = patient.request(page(4), {**last, "action": "next"})
    assert fired, "the submit never ran the query the connection was to drop on"
    assert status == 503
    assert "We could not save your answers just now" in html
    assert "please try again in a moment" in html
    assert checked_answers(html) == last  # every answer still on the page, as given
    assert not Response.objects.filter(visit=visit, state="completed").exists()
    assert not Score.objects.filter(response__visit=visit).exists()
    assert Visit.objects.get(pk=visit.pk).status != "completed"

    # The patient presses the button again: the server has a new connection.
    status, _, location = patient.request(page(4), {**last, "action": "next"})
    assert (status, location) == (302, reverse("survey:done", kwargs={"token": token}))
    assert patient.request(location)[0] == 200
    responses = Response.objects.filter(visit=visit)
    assert responses.count() == 4
    assert set(responses.values_list("state", flat=True)) == {"completed"}
    assert responses.values("instrument").distinct().count() == 4
    assert Visit.objects.get(pk=visit.pk).status == "completed"
