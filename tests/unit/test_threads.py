"""The thread helpers of the concurrency tests fail when a thread outlives its timeout."""

from __future__ import annotations

import threading

import pytest

from tests.threads import at_once, join_all


def test_a_call_still_running_after_the_timeout_fails_at_once():
    done = threading.Event()

    def sleeps_past_the_timeout():
        done.wait(10)

    with pytest.raises(AssertionError, match=r"1 of 2 threads still running after 0\.2 s: "
                                             r".*sleeps_past_the_timeout"):
        at_once(sleeps_past_the_timeout, lambda: None, timeout=0.2)
    done.set()


def test_the_calls_run_together_and_their_errors_are_returned():
    # Each call waits for the other to have started: run one after the other, the
    # first would wait its whole 5 s and the timeout (2 s) would fail the test.
    first, second = threading.Event(), threading.Event()

    def one():
        first.set()
        assert second.wait(5)

    def two():
        second.set()
        assert first.wait(5)
        raise ValueError("two's own error")

    errors = at_once(one, two, timeout=2)
    assert [str(error) for error in errors] == ["two's own error"]


def test_join_all_fails_naming_the_thread_still_running():
    done = threading.Event()
    stuck = threading.Thread(target=done.wait, args=(10,), name="stuck", daemon=True)
    quick = threading.Thread(target=lambda: None, name="quick")
    stuck.start()
    quick.start()
    with pytest.raises(AssertionError, match=r"1 of 2 threads still running after 0\.1 s: stuck$"):
        join_all([stuck, quick], timeout=0.1)
    done.set()
