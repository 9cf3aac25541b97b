"""End to end: ``zsm run`` as a real subprocess against simulated devices and a test server on loopback,
in accelerated time (x20: one wall second is twenty simulated seconds)."""

from __future__ import annotations

import os
import signal
from pathlib import Path

from controller.domain.commands import CommandKind
from controller.domain.events import CommandIssued, DaemonStarted, StateChanged
from tests.e2e.world import world


def test_daemon_follows_the_schedule_and_the_server_gets_every_event_once(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        proc = w.start_daemon()
        # charge, discharge and NetZero slots have passed; NetZero+ (from minute 7, with the PV surplus) has
        # asked the battery to charge (discharge and standby write inputLimit 0, so this is NetZero+'s)
        w.wait_until(7.0)
        w.poll(lambda: w.zendure.settings.inputLimit > 0, what="NetZero+ charging from the surplus")
        assert proc.poll() is None, w.daemon_log()
        assert w.stop_daemon(proc) == 0, w.daemon_log()

        log = w.open_log()
        events = [s.event for s in log.iter_events()]
        states = [e.to_state for e in events if isinstance(e, StateChanged)]
        order = ["Charging", "Discharging", "NetZero", "NetZeroPlus"]
        positions = [states.index(state) for state in order]
        assert positions == sorted(positions), states
        commands = [e for e in events if isinstance(e, CommandIssued)]
        by_state = {(c.state, c.command.kind) for c in commands}
        assert ("Charging", CommandKind.CHARGE) in by_state
        assert ("Discharging", CommandKind.DISCHARGE) in by_state
        assert ("NetZero", CommandKind.DISCHARGE) in by_state
        assert ("NetZeroPlus", CommandKind.CHARGE) in by_state
        assert "daemon_stopped" in [e.kind for e in events[-3:]]
        # SIGTERM: the tick finished, then standby was commanded before daemon_stopped
        last_command = commands[-1]
        assert last_command.command.kind is CommandKind.STANDBY and last_command.inputs.get("stop") is True
        assert w.zendure.settings.outputLimit == 0 and w.zendure.settings.inputLimit == 0

        # every event reached the server exactly once (ingest is idempotent by seq; counts must match)
        w.poll(lambda: w.server_event_count() == log.count(), what="all events at the server")
        assert w.server_seqs() == list(range(1, log.last_seq() + 1))
        status = w.api("status")
        assert status["state"] and status["software_version"]
        log.close()


def test_kill_9_and_restart_loses_and_duplicates_nothing(tmp_path: Path) -> None:
    # At 20x a restart that takes 2 wall seconds on a loaded machine is 40 virtual seconds: the readings
    # restored from the log would be stale before the new daemon reads the devices. Give the stale limits
    # room for that, so the test checks what it is about (state restored, nothing lost or duplicated).
    limits = "\n[limits]\nmeter_stale_s = 120\nbattery_stale_s = 120\n"
    with world(tmp_path, extra_config=limits) as w:
        first = w.start_daemon("first")
        w.wait_until(4.0)  # the NetZero slot (minutes 4 to 7) begins; kill once the daemon is in it
        w.poll(lambda: w.api("status").get("state") == "NetZero", what="the first daemon in NetZero")
        os.kill(first.pid, signal.SIGKILL)
        first.wait(timeout=10)
        second = w.start_daemon("second")
        w.poll(
            lambda: " started: " in (tmp_path / "second.log").read_text(errors="replace"),
            timeout_s=60,
            what="the second daemon started",
        )
        w.wait_minutes(0.5)  # its ticks in the slot, which must not pass through Standby
        assert w.stop_daemon(second) == 0, w.daemon_log()

        log = w.open_log()
        stored = list(log.iter_events())
        starts = [s.seq for s in stored if isinstance(s.event, DaemonStarted)]
        assert len(starts) == 2
        # the restarted daemon resumed NetZero from the log: no pass through Standby in the slot
        after_restart = [s.event for s in stored if s.seq > starts[1] and isinstance(s.event, StateChanged)]
        assert not [e for e in after_restart if e.to_state == "Standby"], after_restart
        w.poll(lambda: w.server_event_count() == log.count(), what="all events at the server")
        assert w.server_seqs() == list(range(1, log.last_seq() + 1))
        log.close()


def test_two_daemons_started_at_once_exactly_one_runs(tmp_path: Path) -> None:
    with world(tmp_path) as w:
        a = w.start_daemon("a")
        b = w.start_daemon("b")
        w.poll(
            lambda: a.poll() is not None or b.poll() is not None, timeout_s=60, what="one daemon to give up"
        )
        loser, winner = (a, b) if a.poll() is not None else (b, a)
        assert loser.returncode == 3
        assert "a daemon already runs" in w.daemon_log()
        assert winner.poll() is None
        assert w.stop_daemon(winner) == 0
