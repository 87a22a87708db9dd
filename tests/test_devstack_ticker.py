"""The local stack's background ticks (schedules, stream polls): repeated, failure-tolerant, stopped promptly."""

import threading
import time

from arbiter.devstack.ticker import Ticker


def test_a_failing_tick_is_logged_and_the_job_runs_again_at_the_next_one(caplog):
    # Given a job whose first run fails
    calls: list[float] = []
    third_call = threading.Event()

    def job() -> None:
        calls.append(time.monotonic())
        if len(calls) == 1:
            raise RuntimeError("first run fails")
        if len(calls) == 3:
            third_call.set()

    ticker = Ticker()
    started = time.monotonic()

    # When it ticks every 10 ms
    ticker.every(0.01, "tick-test", job)
    try:
        assert third_call.wait(5), "the job stopped running after its failure"
    finally:
        ticker.stop()

    # Then the failure was logged with the job's name, the job kept running, and its first run came one interval
    # after the start (as EventBridge's first scheduled run does)
    assert [r.getMessage() for r in caplog.records if r.levelname == "ERROR"][:1] == ["tick-test failed"]
    assert calls[0] - started >= 0.01
    count = len(calls)
    time.sleep(0.05)
    assert len(calls) == count, "stop() left the job running"
