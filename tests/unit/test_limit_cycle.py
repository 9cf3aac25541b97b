"""The limit-cycle guard: a square wave in the set-points switches it on; load-following never does."""

from __future__ import annotations

from controller.domain.limit_cycle import LimitCycleGuard


def guard() -> LimitCycleGuard:
    return LimitCycleGuard(window_s=300.0, min_half_period_s=5.0, quiet_s=300.0)


def feed(g: LimitCycleGuard, commands: list[tuple[float, float]]) -> None:
    for t, watts in commands:
        g.command(t, watts)


def test_a_square_wave_between_two_levels_is_a_cycle() -> None:
    g = guard()
    feed(g, [(t, 800.0 if i % 2 else 0.0) for i, t in enumerate(range(0, 130, 22))])
    change = g.update(130.0)
    assert g.active and change is not None and change.active
    assert "limit cycle" in change.reason and "800 W" in change.reason
    assert 40.0 <= g.period_s <= 48.0
    assert g.update(131.0) is None  # said once


def test_a_staircase_up_and_down_is_one_move_each_way() -> None:
    g = guard()
    levels = [100, 400, 700, 800, 500, 300, 500, 700, 500, 300, 500, 700]
    feed(g, [(1210.0 + 11 * i, float(w)) for i, w in enumerate(levels)])
    assert g.active


def test_flip_flops_faster_than_the_smallest_lag_are_meter_noise() -> None:
    g = guard()
    feed(g, [(1385.0 + 3 * i, 221.0 if i % 2 else 0.0) for i in range(8)])
    assert not g.active


def test_following_a_varying_load_is_not_a_cycle() -> None:
    g = guard()
    # a kettle on and off, then a load that wanders: moves that do not undo each other
    feed(g, [(0, 0.0), (30, 800.0), (200, 0.0), (260, 300.0), (300, 100.0), (340, 600.0), (380, 150.0)])
    assert not g.active
    # small back-and-forth corrections stay below the step size that matters
    feed(g, [(400 + 10 * i, 150.0 + (60.0 if i % 2 else 0.0)) for i in range(10)])
    assert not g.active


def test_the_fallback_ends_after_a_quiet_period_and_lasts_longer_when_the_cycle_returns() -> None:
    g = guard()
    feed(g, [(t, 800.0 if i % 2 else 0.0) for i, t in enumerate(range(0, 130, 22))])
    g.update(130.0)
    assert g.update(110.0 + 299.0) is None and g.active
    change = g.update(110.0 + 300.0)
    assert change is not None and not change.active and "300 s" in change.reason
    feed(g, [(t, 0.0 if i % 2 else 800.0) for i, t in enumerate(range(500, 630, 22))])
    assert g.active and g.quiet_s == 600.0  # came back within twice the quiet time: wait twice as long
