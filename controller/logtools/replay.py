"""Replay: re-drive the current core + regulator with a log's recorded inputs and compare the commands.

How the daemon writes a tick, and how replay follows it
-------------------------------------------------------
Each daemon tick appends one transaction: a ``ticked`` marker whose ``at`` is the ``now`` the core was
ticked with, then the inputs in the order the core handled them (the previous tick's device outcomes,
the server worker's results, the battery and meter polls with their stale/recovered events), then what
the core recorded (``slot_changed``, ``state_changed``, ``lag_estimated``, ``dead_time_estimated``,
``command_issued`` …). Replay
therefore cuts the log at the markers and calls ``core.step`` with the marker's time and that tick's
inputs in ``seq`` order: the same call, with the same arguments, as the daemon made. A simulated run's log
has no markers (the simulator ticks every second); replay ticks it every second the same way.

On ``daemon_started`` replay starts a fresh core and restores it like the daemon does (last schedule,
slot, state and command plus the 15-minute tail; see :func:`controller.daemon.control_loop.restore_events`).
Standby commands the daemon sent itself while stopping (``inputs.stop``) are not the core's and are left
out of the comparison.

Commands are then paired in time order: same command within ``tolerance_s`` = reproduced; otherwise a
difference (a different command at the same moment, or one that only one side issued).
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import datetime, timedelta
from itertools import chain
from typing import Literal

from pydantic import BaseModel, ConfigDict

from controller import __version__
from controller.core_factory import build_core
from controller.daemon.control_loop import RestoreTail
from controller.domain.events import CommandIssued, DaemonStarted, EventBase, StateChanged
from controller.domain.machine import ControllerCore
from controller.logtools.common import CARRY_KINDS, INPUT_KINDS, is_stop_command
from controller.settings import Settings
from storage.event_log import StoredEvent

__all__ = ["CommandDiff", "ReplayReport", "build_core", "plan_ticks", "replay_events"]

LOGGER = logging.getLogger(__name__)


# -- tick plan -----------------------------------------------------------------------------------------


@dataclass
class Step:
    """What replay does next: feed ``inputs`` and tick at ``tick_at``, or restart on ``restart``."""

    inputs: list[EventBase]
    tick_at: datetime | None
    restart: DaemonStarted | None = None


def plan_ticks(events: Iterable[EventBase], tick_every_s: float = 1.0) -> Iterable[Step]:
    """Turn the log (oldest first) into replay steps: one per ``ticked`` marker, and restarts.

    A log without markers (a simulated run, see :mod:`controller.simulation.closed_loop`, which ticks every
    second and logs no per-tick marker) is ticked every ``tick_every_s`` from its first event; an input is
    fed before the first tick at or after its time. Which kind of log it is shows before its first input.
    """
    iterator = iter(events)
    head: list[EventBase] = []
    for event in iterator:
        head.append(event)
        if event.kind in ("ticked", "daemon_started"):
            return _marked_ticks(chain(head, iterator))
        if event.kind in INPUT_KINDS or event.kind in CARRY_KINDS:
            return _regular_ticks(chain(head, iterator), tick_every_s)
    return _marked_ticks(head)


def _marked_ticks(events: Iterable[EventBase]) -> Iterable[Step]:
    inputs: list[EventBase] = []
    tick_at: datetime | None = None

    def close() -> Iterable[Step]:
        nonlocal inputs, tick_at
        if tick_at is not None:
            yield Step(inputs, tick_at)
        inputs, tick_at = [], None

    for event in events:
        kind = event.kind
        if kind == "ticked":
            yield from close()
            tick_at = event.at
        elif kind in ("daemon_started", "daemon_stopped"):
            yield from close()
            if isinstance(event, DaemonStarted):
                yield Step([], None, restart=event)
        elif isinstance(event, CommandIssued) and is_stop_command(event.inputs):
            yield from close()
        elif tick_at is not None and (kind in INPUT_KINDS or kind in CARRY_KINDS):
            inputs.append(event)
    yield from close()


def _regular_ticks(events: Iterable[EventBase], tick_every_s: float) -> Iterable[Step]:
    period = timedelta(seconds=tick_every_s)
    inputs: list[EventBase] = []
    tick_at: datetime | None = None
    for event in events:
        if tick_at is None:
            tick_at = event.at
        while tick_at < event.at:
            yield Step(inputs, tick_at)
            inputs = []
            tick_at += period
        if event.kind in INPUT_KINDS or event.kind in CARRY_KINDS:
            inputs.append(event)
    if tick_at is not None:
        yield Step(inputs, tick_at)


# -- comparison ----------------------------------------------------------------------------------------


class CommandDiff(BaseModel):
    """One difference between the recorded and the replayed commands."""

    model_config = ConfigDict(frozen=True)

    what: Literal["differs", "recorded_only", "replayed_only"]
    recorded_at: datetime | None = None
    recorded: str | None = None
    recorded_reason: str | None = None
    replayed_at: datetime | None = None
    replayed: str | None = None
    replayed_reason: str | None = None


class ReplayReport(BaseModel):
    """The outcome of a replay: counts, the first differences and the speed."""

    model_config = ConfigDict(frozen=True)

    reproduced: bool
    events: int
    inputs: int
    ticks: int
    restarts: int
    recorded_commands: int
    replayed_commands: int
    matched: int
    differing: int
    recorded_only: int
    replayed_only: int
    stop_commands: int
    state_changes_recorded: int
    state_changes_replayed: int
    tolerance_s: float
    first_differences: list[CommandDiff]
    log_versions: list[str]
    current_version: str
    log_config_digests: list[str]
    current_config_digest: str
    span_start: datetime | None
    span_end: datetime | None
    wall_s: float
    events_per_s: float


def compare_commands(
    recorded: list[CommandIssued], replayed: list[CommandIssued], tolerance_s: float
) -> tuple[int, list[CommandDiff]]:
    """Pair commands in time order; returns (matched, differences)."""
    diffs: list[CommandDiff] = []
    matched = 0
    i = j = 0
    tol = timedelta(seconds=tolerance_s)
    while i < len(recorded) or j < len(replayed):
        rec = recorded[i] if i < len(recorded) else None
        rep = replayed[j] if j < len(replayed) else None
        if rec is not None and rep is not None and abs(rec.at - rep.at) <= tol:
            if rec.command == rep.command:
                matched += 1
            else:
                diffs.append(
                    CommandDiff(
                        what="differs",
                        recorded_at=rec.at,
                        recorded=str(rec.command),
                        recorded_reason=rec.reason,
                        replayed_at=rep.at,
                        replayed=str(rep.command),
                        replayed_reason=rep.reason,
                    )
                )
            i += 1
            j += 1
        elif rep is None or (rec is not None and rec.at < rep.at):
            assert rec is not None
            diffs.append(
                CommandDiff(
                    what="recorded_only",
                    recorded_at=rec.at,
                    recorded=str(rec.command),
                    recorded_reason=rec.reason,
                )
            )
            i += 1
        else:
            diffs.append(
                CommandDiff(
                    what="replayed_only",
                    replayed_at=rep.at,
                    replayed=str(rep.command),
                    replayed_reason=rep.reason,
                )
            )
            j += 1
    return matched, diffs


# -- the replay ----------------------------------------------------------------------------------------


def replay_events(
    stored: Iterable[StoredEvent],
    settings: Settings,
    *,
    core_factory: Callable[[Settings], ControllerCore] = build_core,
    tolerance_s: float = 1.0,
    max_differences: int = 20,
) -> ReplayReport:
    """Replay ``stored`` (oldest first) through fresh cores built by ``core_factory`` and compare."""
    wall0 = time.perf_counter()
    core = core_factory(settings)
    restore = RestoreTail()
    recorded: list[CommandIssued] = []
    replayed: list[CommandIssued] = []
    counts = {"events": 0, "stop": 0, "states": 0, "inputs": 0}
    versions: dict[str, None] = {}
    digests: dict[str, None] = {}
    span: list[datetime] = []

    def events() -> Iterable[EventBase]:
        for item in stored:
            event = item.event
            counts["events"] += 1
            versions.setdefault(item.software_version)
            if not span:
                span.append(event.at)
            if isinstance(event, CommandIssued):
                if is_stop_command(event.inputs):
                    counts["stop"] += 1
                else:
                    recorded.append(event)
            elif isinstance(event, StateChanged):
                counts["states"] += 1
            elif isinstance(event, DaemonStarted):
                digests.setdefault(event.config_digest)
            restore.add(item.seq, event)
            last_at[0] = event.at
            yield event

    last_at: list[datetime | None] = [None]
    ticks = restarts = states_replayed = 0

    def collect(decided: list[EventBase]) -> None:
        nonlocal states_replayed
        for out in decided:
            if isinstance(out, CommandIssued):
                replayed.append(out)
            elif isinstance(out, StateChanged):
                states_replayed += 1

    for step in plan_ticks(events()):
        if step.restart is not None:
            restarts += 1
            core = core_factory(settings)
            # the restart event itself is already in the tail; the daemon restored just before logging it
            core.restore([e for e in restore.events(step.restart.at) if e is not step.restart])
            continue
        if step.tick_at is not None:
            counts["inputs"] += len(step.inputs)
            collect(core.step(step.tick_at, step.inputs))
            ticks += 1
    matched, diffs = compare_commands(recorded, replayed, tolerance_s)
    wall = time.perf_counter() - wall0
    return ReplayReport(
        reproduced=not diffs,
        events=counts["events"],
        inputs=counts["inputs"],
        ticks=ticks,
        restarts=restarts,
        recorded_commands=len(recorded),
        replayed_commands=len(replayed),
        matched=matched,
        differing=sum(d.what == "differs" for d in diffs),
        recorded_only=sum(d.what == "recorded_only" for d in diffs),
        replayed_only=sum(d.what == "replayed_only" for d in diffs),
        stop_commands=counts["stop"],
        state_changes_recorded=counts["states"],
        state_changes_replayed=states_replayed,
        tolerance_s=tolerance_s,
        first_differences=diffs[:max_differences],
        log_versions=list(versions),
        current_version=__version__,
        log_config_digests=list(digests),
        current_config_digest=settings.digest(),
        span_start=span[0] if span else None,
        span_end=last_at[0],
        wall_s=round(wall, 3),
        events_per_s=round(counts["events"] / wall, 1) if wall > 0 else 0.0,
    )


def format_report(report: ReplayReport) -> str:
    """The replay summary as a plain-text table, with the first differences."""
    rows = [
        ("events read", f"{report.events}"),
        ("span", f"{report.span_start} .. {report.span_end}"),
        ("inputs fed", f"{report.inputs}"),
        ("ticks", f"{report.ticks}"),
        ("daemon restarts", f"{report.restarts}"),
        ("commands recorded", f"{report.recorded_commands} (+{report.stop_commands} stop standby)"),
        ("commands replayed", f"{report.replayed_commands}"),
        ("reproduced", f"{report.matched} (within {report.tolerance_s:g} s)"),
        ("differing", f"{report.differing}"),
        ("recorded only", f"{report.recorded_only}"),
        ("replayed only", f"{report.replayed_only}"),
        (
            "state changes",
            f"{report.state_changes_recorded} recorded, {report.state_changes_replayed} replayed",
        ),
        ("log versions", ", ".join(report.log_versions) or "-"),
        ("current version", report.current_version),
        ("config digest", _digest_note(report)),
        ("speed", f"{report.events_per_s:,.0f} events/s ({report.wall_s:.2f} s)"),
    ]
    width = max(len(name) for name, _ in rows)
    lines = [f"{name:<{width}}  {value}" for name, value in rows]
    verdict = "REPRODUCED" if report.reproduced else "DIFFERENT"
    lines.append("")
    lines.append(f"result: {verdict}")
    if report.first_differences:
        lines.append("")
        lines.append("first differences:")
        for diff in report.first_differences:
            lines.append("  " + _diff_line(diff))
    return "\n".join(lines)


def _digest_note(report: ReplayReport) -> str:
    if not report.log_config_digests:
        return f"{report.current_config_digest} (the log names none)"
    same = report.current_config_digest in report.log_config_digests
    note = "same as the log" if same else f"log had {', '.join(report.log_config_digests)}"
    return f"{report.current_config_digest} ({note})"


def _diff_line(diff: CommandDiff) -> str:
    if diff.what == "differs":
        return (
            f"{diff.recorded_at}: recorded {diff.recorded} ({diff.recorded_reason}), "
            f"replayed {diff.replayed} at {diff.replayed_at} ({diff.replayed_reason})"
        )
    if diff.what == "recorded_only":
        return f"{diff.recorded_at}: recorded {diff.recorded} ({diff.recorded_reason}); replay issued nothing"
    return f"{diff.replayed_at}: replay issued {diff.replayed} ({diff.replayed_reason}); the log has nothing"
