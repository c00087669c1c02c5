"""The load generator: simulated patients walking the real questionnaire, and the yardstick.

An asyncio client (aiohttp), not wrk or locust: each simulated patient is a small state
machine (open the link, follow the redirect, read the CSRF cookie and the form's token
from each page, post each instrument, follow to the thanks page), which wrk's Lua
callbacks cannot tie to one connection, and every request's latency is kept, so the
percentiles are exact rather than bucketed. It behaves as a browser behind the
production TLS proxy: ``X-Forwarded-Proto: https``, secure cookies sent back by hand,
``Origin`` on each POST. Static files are not fetched (a browser caches them after the
first page).
"""

from __future__ import annotations

import asyncio
import math
import random
import re
import time
from collections import Counter
from collections.abc import Awaitable, Callable, Iterable
from dataclasses import dataclass, field
from http.cookies import SimpleCookie

import aiohttp

from outcomes.instruments.definitions import INSTRUMENTS

from .stack import PROXY_HEADERS

CSRF_FIELD = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# The kinds of request in one visit, in the order a patient sends them.
OPEN, PAGE, SAVE, SUBMIT, THANKS = "open link", "show page", "save page", "submit visit", "thanks"
YARDSTICK = "insert one row"


class FlowError(Exception):
    """A reply the real flow would not give: the simulated patient stops there."""


@dataclass
class Recorder:
    """Latency of every request by kind, errors by kind and status, visit durations."""

    latencies: dict[str, list[float]] = field(default_factory=dict)
    errors: Counter = field(default_factory=Counter)
    examples: list[str] = field(default_factory=list)
    visits: list[float] = field(default_factory=list)
    started: float = 0.0
    finished: float = 0.0

    def add(self, kind: str, seconds: float) -> None:
        self.latencies.setdefault(kind, []).append(seconds)

    def fail(self, kind: str, what: str, detail: str = "") -> None:
        self.errors[(kind, what)] += 1
        if len(self.examples) < 5:
            self.examples.append(f"{kind}: {what} {detail[:300]}")

    @property
    def elapsed(self) -> float:
        return self.finished - self.started

    def all_latencies(self) -> list[float]:
        return [s for values in self.latencies.values() for s in values]

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.latencies.values())

    @property
    def error_count(self) -> int:
        return sum(self.errors.values())


def percentile(values: list[float], p: float) -> float:
    """Return the nearest-rank ``p``th percentile of ``values`` (0 if empty)."""
    if not values:
        return 0.0
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


def random_answers(code: str, rng: random.Random) -> dict[str, str]:
    """Return a complete, valid set of answers to one instrument, as form fields."""
    answers = {}
    for item in INSTRUMENTS[code].items:
        if item.options and item.kind == "choice":
            value = rng.choice(item.options).value
        else:
            value = rng.randint(item.min_value, item.max_value)
        answers[item.code] = str(value)
    return answers


class Patient:
    """One simulated patient with a private link: one browser, its own cookies."""

    def __init__(self, session: aiohttp.ClientSession, *, base_url: str, origin: str,
                 recorder: Recorder):
        self.session = session
        self.base_url = base_url
        self.origin = origin
        self.recorder = recorder
        self.cookies: dict[str, str] = {}

    async def call(self, kind: str, method: str, path: str, *, expect: int,
                   location: str | None = None, data: dict | None = None) -> str:
        headers = dict(PROXY_HEADERS)
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        if method == "POST":
            headers["Origin"] = self.origin
            headers["Referer"] = f"{self.origin}{path}"
        started = time.perf_counter()
        try:
            async with self.session.request(method, f"{self.base_url}{path}", data=data,
                                            headers=headers, allow_redirects=False) as reply:
                body = await reply.text()
        except (aiohttp.ClientError, TimeoutError) as error:
            self.recorder.fail(kind, type(error).__name__, str(error))
            raise FlowError(kind) from error
        self.recorder.add(kind, time.perf_counter() - started)
        for header in reply.headers.getall("Set-Cookie", []):
            for name, morsel in SimpleCookie(header).items():
                self.cookies[name] = morsel.value
        if reply.status != expect:
            self.recorder.fail(kind, str(reply.status), body)
            raise FlowError(kind)
        if location is not None and reply.headers.get("Location") != location:
            self.recorder.fail(kind, "redirect", f"to {reply.headers.get('Location')}")
            raise FlowError(kind)
        return body

    async def fill_visit(self, token: str, instruments: list[str], rng: random.Random) -> bool:
        """Open the link, answer every instrument page, submit, reach the thanks page."""
        started = time.perf_counter()
        start = f"/s/{token}/"
        try:
            await self.call(OPEN, "GET", start, expect=302, location=f"{start}1/")
            for number, code in enumerate(instruments, start=1):
                page = await self.call(PAGE, "GET", f"{start}{number}/", expect=200)
                found = CSRF_FIELD.search(page)
                if found is None:
                    self.recorder.fail(PAGE, "no CSRF token in the form")
                    return False
                last = number == len(instruments)
                data = {**random_answers(code, rng), "action": "next",
                        "csrfmiddlewaretoken": found.group(1)}
                await self.call(SUBMIT if last else SAVE, "POST", f"{start}{number}/",
                                data=data, expect=302,
                                location=f"{start}done/" if last else f"{start}{number + 1}/")
            thanks = await self.call(THANKS, "GET", f"{start}done/", expect=200)
            if "Thank you" not in thanks:
                self.recorder.fail(THANKS, "no thanks on the page")
                return False
        except FlowError:
            return False
        self.recorder.visits.append(time.perf_counter() - started)
        return True

    async def yardstick(self, number: int) -> bool:
        try:
            await self.call(YARDSTICK, "POST", "/bench/yardstick/", expect=200,
                            data={"client": f"c{number}"})
        except FlowError:
            return False
        return True


def new_session(concurrency: int) -> aiohttp.ClientSession:
    """A client session: no cookie jar (each patient keeps its own), one socket per request.

    gunicorn's sync workers close the connection after each response, as they do behind
    the production proxy, so keep-alive would only add reconnect errors.
    """
    return aiohttp.ClientSession(
        connector=aiohttp.TCPConnector(limit=concurrency, force_close=True),
        cookie_jar=aiohttp.DummyCookieJar(),
        timeout=aiohttp.ClientTimeout(total=120),
    )


async def run_pool(jobs: Iterable, worker: Callable[[object], Awaitable[bool]], *,
                   concurrency: int, recorder: Recorder) -> None:
    """Run ``worker`` over ``jobs`` with ``concurrency`` in flight at once; time it all."""
    queue = iter(jobs)

    async def lane() -> None:
        for job in queue:
            await worker(job)

    recorder.started = time.perf_counter()
    await asyncio.gather(*(lane() for _ in range(concurrency)))
    recorder.finished = time.perf_counter()


async def fill_visits(*, base_url: str, origin: str, tokens: list[str], instruments: list[str],
                      concurrency: int, seed: int = 2026) -> Recorder:
    """Let every token's patient fill and submit the visit, ``concurrency`` at a time."""
    recorder = Recorder()
    async with new_session(concurrency) as session:
        async def one(token: str) -> bool:
            patient = Patient(session, base_url=base_url, origin=origin, recorder=recorder)
            return await patient.fill_visit(token, instruments, random.Random(f"{seed}:{token}"))

        await run_pool(tokens, one, concurrency=concurrency, recorder=recorder)
    return recorder


async def hit_yardstick(*, base_url: str, origin: str, requests: int,
                        concurrency: int) -> Recorder:
    """POST the yardstick ``requests`` times, ``concurrency`` at a time."""
    recorder = Recorder()
    async with new_session(concurrency) as session:
        async def one(number: int) -> bool:
            patient = Patient(session, base_url=base_url, origin=origin, recorder=recorder)
            return await patient.yardstick(number)

        await run_pool(range(requests), one, concurrency=concurrency, recorder=recorder)
    return recorder
