"""End to end: ``zsm run`` with Home Assistant enabled, the real Mosquitto and simulated devices.

Home Assistant's side is a plain MQTT client: it sees the device announced, reads the state, overrides the
mode with the select and the power with the number, and the daemon logs the request, the dated slot it
became, the state change and the command, and drives the simulated battery accordingly.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from controller.domain.commands import CommandKind
from controller.domain.events import CommandIssued, OverrideRequested, ScheduleLoaded, StateChanged
from controller.homeassistant.discovery import SiteTopics
from controller.logtools.audit import explain_at, format_audit
from tests.e2e.world import SITE, world
from tests.homeassistant.mqtt_support import Probe, shared_broker, unique


@pytest.mark.slow
def test_home_assistant_overrides_the_mode_end_to_end(tmp_path: Path) -> None:
    host, port = shared_broker()
    prefix, base = unique("ha"), unique("zsm")
    topics = SiteTopics.for_site(prefix, base, SITE)
    extra = (
        f'[home_assistant]\nenabled = true\nhost = "{host}"\nport = {port}\n'
        f'discovery_prefix = "{prefix}"\nbase_topic = "{base}"\npublish_interval_s = 1\n'
    )
    probe = Probe(host, port, [f"{prefix}/#", f"{base}/#"])
    try:
        with world(tmp_path, extra_config=extra) as w:
            proc = w.start_daemon()
            discovery = json.loads(probe.wait_for(topics.discovery, bool, timeout_s=60).payload)
            assert set(discovery["components"]) >= {"grid_power", "soc", "mode", "power", "avoided_today"}
            probe.wait_for(topics.availability, lambda p: p == b"online")
            probe.wait_for(
                topics.state, lambda p: bool(p) and json.loads(p)["soc_pct"] is not None, timeout_s=30
            )

            w.wait_until(4.2)  # past the demo's discharge slot, so "auto" visibly leaves Discharging
            probe.publish(topics.power_command, "250")
            probe.publish(topics.mode_command, "discharge")
            probe.wait_for(
                topics.state,
                lambda p: bool(p) and json.loads(p)["override_mode"] == "discharge",
                timeout_s=30,
            )
            w.poll(lambda: w.zendure.settings.outputLimit == 250, what="the battery discharging 250 W")
            overridden = probe.wait_for(
                topics.state,
                lambda p: bool(p) and json.loads(p)["override_mode"] == "discharge" and b"Discharging" in p,
                timeout_s=30,
            )
            state = json.loads(overridden.payload)
            assert state["slot_mode"] == "discharge" and state["override_power_w"] == 250
            # counted from the meter's readings: import, and import avoided by the discharging battery.
            # Avoided is net for the day (the demo's charge slot, from the grid, counted against it), so
            # whether it is above 0 yet depends on how much of that slot the daemon saw in wall time;
            # that it rises while the override discharges is certain
            avoided_then = state["avoided_kwh"]
            assert avoided_then is not None, state
            counted = probe.wait_for(
                topics.state,
                lambda p: (
                    bool(p)
                    and json.loads(p)["override_mode"] == "discharge"
                    and json.loads(p)["avoided_kwh"] > avoided_then
                ),
                timeout_s=30,
                after=len(probe.messages) - 1,
            )
            assert json.loads(counted.payload)["imported_kwh"] > 0

            mark = len(probe.messages)
            probe.publish(topics.mode_command, "auto")
            probe.wait_for(
                topics.state,
                lambda p: bool(p) and json.loads(p)["state"] != "Discharging",
                timeout_s=30,
                after=mark,
            )
            assert w.stop_daemon(proc) == 0, w.daemon_log()
            probe.wait_for(topics.availability, lambda p: p == b"offline", after=len(probe.messages) - 1)

            log = w.open_log()
            stored = list(log.iter_events())
            log.close()
        events = [s.event for s in stored]
        requests = [e for e in events if isinstance(e, OverrideRequested)]
        assert [(r.source, r.mode) for r in requests] == [
            ("home_assistant", "discharge"),
            ("home_assistant", "auto"),
        ]
        assert requests[0].power_w == 250
        loaded = [e for e in events if isinstance(e, ScheduleLoaded) and e.source == "home_assistant"]
        assert len(loaded) >= 2
        assert any(slot.get("id") == "override" for slot in loaded[0].schedule.get("dated", []))
        moves = [(e.from_state, e.to_state, e.at) for e in events if isinstance(e, StateChanged)]
        into = [at for _, to, at in moves if to == "Discharging" and at >= requests[0].at]
        out = [at for source, _, at in moves if source == "Discharging" and at >= requests[1].at]
        assert into and out, moves
        override_at = requests[0].at
        commands = [e for e in events if isinstance(e, CommandIssued) and e.at >= override_at]
        assert (commands[0].command.kind, commands[0].command.power_w) == (CommandKind.DISCHARGE, 250)
        # the audit explains that command like any other: the schedule from Home Assistant, the override slot
        text = format_audit(explain_at(stored, commands[0].at))
        assert "loaded from home_assistant" in text and "slot 'override' (discharge, 250 W)" in text, text
    finally:
        for topic in (topics.discovery, topics.state, topics.availability):
            probe.publish(topic, b"", retain=True)
        probe.close()
