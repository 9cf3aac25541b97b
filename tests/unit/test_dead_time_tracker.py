"""The online dead-time tracker: observations from writes and the readings after them."""

from __future__ import annotations

import pytest

from controller.domain.dead_time import MIN_STEP_W, QUIET_S, DeadTimeTracker


def _step(tracker: DeadTimeTracker, t0: float, before: float, target: float, dead_s: float) -> None:
    """A write at ``t0``; the battery (read every second) jumps to ``target`` ``dead_s`` later."""
    tracker.command(t0, target)
    for k in range(1, 30):
        tracker.reading(t0 + k, target if k >= dead_s else before)


def test_each_quiet_write_is_one_observation_of_its_dead_time() -> None:
    tracker = DeadTimeTracker()
    tracker.reading(0.0, 0.0)
    level = 0.0
    for i in range(12):
        target = 600.0 if level == 0.0 else 0.0
        _step(tracker, 100.0 * (i + 1), level, target, dead_s=6)
        level = target

    est = tracker.estimate()
    assert est is not None
    assert est.steps == 12
    # moved between the readings at +5 s (not yet) and +6 s: the middle, 5.5 s, ±0.5 s
    assert est.dead_time_s == pytest.approx(5.5)
    assert est.resolution_s == pytest.approx(0.5)
    assert est.confidence == pytest.approx(1.0)


def test_a_write_soon_after_another_is_not_observed() -> None:
    """The battery moving for the first write must not read as a short dead time of the second."""
    tracker = DeadTimeTracker()
    tracker.reading(0.0, 0.0)
    tracker.command(100.0, 400.0)
    tracker.reading(101.0, 0.0)
    tracker.command(100.0 + QUIET_S / 2, 800.0)  # in flight: the first write has not acted yet
    tracker.reading(100.0 + QUIET_S / 2 + 1, 400.0)  # the first write acting, 1 s after the second

    assert tracker.estimate() is None


def test_small_steps_and_unanswered_writes_are_not_observed() -> None:
    tracker = DeadTimeTracker()
    tracker.reading(0.0, 200.0)
    tracker.command(100.0, 200.0 + MIN_STEP_W / 2)  # too small to time
    tracker.reading(103.0, 250.0)
    tracker.command(200.0, 800.0)  # the device never follows, then the next write comes
    for k in range(1, 20):
        tracker.reading(200.0 + k, 200.0)
    tracker.command(230.0, 0.0)
    tracker.reading(231.0, 200.0)

    assert tracker.estimate() is None


def test_the_modelled_ramp_is_taken_off_each_observation() -> None:
    tracker = DeadTimeTracker(ramp_w_per_s=100.0)
    tracker.reading(0.0, 0.0)
    _step(tracker, 100.0, 0.0, 800.0, dead_s=6)  # a quarter of 800 W takes 2 s at 100 W/s

    est = tracker.estimate()
    assert est is not None
    assert est.dead_time_s == pytest.approx(5.5 - 2.0)


def test_the_window_keeps_only_the_newest_observations() -> None:
    tracker = DeadTimeTracker(window=4)
    tracker.reading(0.0, 0.0)
    level = 0.0
    for i, dead_s in enumerate([10, 10, 10, 10, 3, 3, 3, 3]):
        target = 600.0 if level == 0.0 else 0.0
        _step(tracker, 100.0 * (i + 1), level, target, dead_s=dead_s)
        level = target

    est = tracker.estimate()
    assert est is not None
    assert est.steps == 4
    assert est.dead_time_s == pytest.approx(2.5)
    assert est.confidence == pytest.approx(0.4)  # 4 of 4 agree, scaled by 4 of 10 steps


def _ramp_step(tracker: DeadTimeTracker, t0: float, target: float, ramp: float, read_every: int) -> None:
    """Writes at ``t0`` (0 -> target) and ``t0 + 100`` (back to 0); each acts after 3 s at ``ramp`` W/s."""
    tracker.command(t0, target)
    for k in range(read_every, 100, read_every):
        tracker.reading(t0 + k, min(target, max(0.0, (k - 3) * ramp)))
    tracker.command(t0 + 100, 0.0)
    for k in range(read_every, 100, read_every):
        tracker.reading(t0 + 100 + k, target - min(target, max(0.0, (k - 3) * ramp)))


def test_a_slow_ramp_is_timed_between_the_quarter_and_the_ninety_percent_reading() -> None:
    tracker = DeadTimeTracker()
    tracker.reading(0.0, 0.0)
    for i in range(5):
        _ramp_step(tracker, 200.0 * (i + 1), 800.0, ramp=100.0, read_every=1)

    est = tracker.estimate()
    assert est is not None and est.ramp_w_per_s is not None
    assert est.ramp_w_per_s == pytest.approx(100.0, rel=0.15)
    assert est.ramp_steps == 10  # up and down


def test_a_step_inside_one_read_interval_only_bounds_the_ramp_from_below() -> None:
    tracker = DeadTimeTracker()
    tracker.reading(0.0, 0.0)
    for i in range(3):
        _ramp_step(tracker, 200.0 * (i + 1), 800.0, ramp=400.0, read_every=5)

    est = tracker.estimate()
    assert est is not None
    assert est.ramp_w_per_s is None and est.ramp_steps == 0
    # 800 W × (0.9 − 0.25) covered within one 5 s read interval: at least 104 W/s (the truth is 400)
    assert est.ramp_at_least_w_per_s == pytest.approx(520.0 / 5.0)
