"""Run test code in threads, each with its own database connection; a thread left running fails.

A thread still running when the test stops waiting for it (stuck on a row lock, say)
has raised nothing yet, so without a check it would pass as a call that succeeded.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterable

from django.db import connection


def join_all(threads: Iterable[threading.Thread], *, timeout: float = 30) -> None:
    """Wait up to ``timeout`` seconds in all for ``threads``; fail naming any still running."""
    threads = list(threads)
    deadline = time.monotonic() + timeout
    for thread in threads:
        thread.join(max(0.0, deadline - time.monotonic()))
    running = [thread.name for thread in threads if thread.is_alive()]
    if running:
        raise AssertionError(
            f"{len(running)} of {len(threads)} threads still running after {timeout} s: "
            + ", ".join(running)
        )


def at_once(*calls: Callable[[], object], timeout: float = 30) -> list[Exception]:
    """Run each call in its own thread and connection, released together; return errors.

    Raises ``AssertionError`` if any call is still running ``timeout`` seconds later.
    """
    barrier = threading.Barrier(len(calls), timeout=timeout)
    errors: list[Exception] = []

    def run(call):
        try:
            barrier.wait()
            call()
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [
        threading.Thread(target=run, args=(call,), daemon=True,
                         name=getattr(call, "__qualname__", repr(call)))
        for call in calls
    ]
    for thread in threads:
        thread.start()
    join_all(threads, timeout=timeout)
    return errors
