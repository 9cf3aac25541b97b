"""The MQTT edge to Home Assistant: announce the site, publish its state, take mode overrides.

Threads: paho's network loop runs the callbacks; the bridge's own publisher thread reads the daemon's
status and publishes discovery and state. Neither touches the core. Commands from Home Assistant wait
in a bounded queue until the daemon calls :meth:`exchange` from its control loop, which turns them into
``OverrideRequested`` + ``ScheduleLoaded`` events that the loop logs and feeds to the core like any other
input; the same call hands over the newest meter reading for the daily energy counters.

Connection: a last will sets the availability topic to ``offline`` (retained); after every (re)connect the
bridge subscribes, publishes discovery (retained), ``online`` (retained) and the state. When Home Assistant
publishes ``online`` on its status topic, discovery is re-published after a short random delay. Commands
that arrive retained are stale: they are ignored and cleared. Every payload is bounded and validated; a
bad one is logged with its reason and the state is re-published, so Home Assistant shows what holds.
"""

from __future__ import annotations

import json
import logging
import math
import queue
import random
import threading
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any, Final
from zoneinfo import ZoneInfo

import paho.mqtt.client as mqtt
from paho.mqtt.enums import CallbackAPIVersion
from paho.mqtt.properties import Properties
from paho.mqtt.reasoncodes import ReasonCode
from pydantic import ValidationError

from controller import __version__
from controller.clock import Clock
from controller.daemon.server_client import StatusReport
from controller.domain.events import (
    BatteryReading,
    EventBase,
    MeterReading,
    OverrideRequested,
    ScheduleLoaded,
)
from controller.domain.override import apply_override
from controller.domain.schedule import Schedule
from controller.homeassistant.discovery import MODE_OPTIONS, SiteTopics, discovery_payload
from controller.homeassistant.energy import DailyEnergy
from controller.homeassistant.state import OverrideView, override_view, state_payload
from controller.settings import HomeAssistantSettings, LimitSettings

__all__ = ["SOURCE", "HomeAssistantBridge", "start_bridge"]

LOGGER = logging.getLogger(__name__)

SOURCE: Final = "home_assistant"
MAX_PAYLOAD: Final = 64
QUEUE_LIMIT: Final = 100


class HomeAssistantBridge:
    """One site's link to Home Assistant over MQTT (start, exchange every tick, stop)."""

    def __init__(
        self,
        settings: HomeAssistantSettings,
        *,
        site_id: str,
        limits: LimitSettings,
        clock: Clock,
        status: Callable[[], StatusReport],
        version: str = __version__,
        announce_jitter_s: float = 3.0,
        sample_s: float = 1.0,
    ) -> None:
        self.settings = settings
        self.limits = limits
        self.clock = clock
        self.topics = SiteTopics.for_site(settings.discovery_prefix, settings.base_topic, site_id)
        self._status = status
        self._max_power_w = max(limits.max_charge_w, limits.max_discharge_w)
        self._discovery = json.dumps(discovery_payload(self.topics, site_id, version, self._max_power_w))
        self._announce_jitter_s = announce_jitter_s
        self._sample_s = sample_s
        self._commands: queue.Queue[tuple[str, str]] = queue.Queue(maxsize=QUEUE_LIMIT)
        self._power_w = min(settings.default_power_w, self._max_power_w)
        self._override = OverrideView()
        # the newest schedule from elsewhere (server, file), without any override: overrides are applied to
        # it, so "auto" (or a new override) restores the slots an earlier override had cut
        self._base: Schedule | None = None
        self._lag_s: float | None = None
        self._energy = DailyEnergy(ZoneInfo(settings.timezone))
        self._energy_lock = threading.Lock()
        self._last_meter_at: datetime | None = None
        self._exchanged = False
        self._announce_at: float | None = None
        self._publish_now = False
        self._connected = threading.Event()
        self._stopping = threading.Event()
        self._wake = threading.Event()
        self._thread = threading.Thread(target=self._run, name="home-assistant", daemon=True)
        self.client = self._make_client()

    def _make_client(self) -> mqtt.Client:
        client = mqtt.Client(
            CallbackAPIVersion.VERSION2,
            client_id=f"{self.topics.node}-{random.randrange(16**6):06x}",
            protocol=mqtt.MQTTv311,
        )
        client.will_set(self.topics.availability, "offline", qos=1, retain=True)
        if self.settings.username:
            password = self.settings.password.get_secret_value() if self.settings.password else None
            client.username_pw_set(self.settings.username, password)
        client.reconnect_delay_set(min_delay=1, max_delay=30)
        client.on_connect = self._on_connect
        client.on_disconnect = self._on_disconnect
        client.on_message = self._on_message
        return client

    # -- life cycle ----------------------------------------------------------------------------------

    def start(self) -> None:
        """Connect in the background (a broker that is down is retried) and start publishing."""
        self.client.connect_async(self.settings.host, self.settings.port, keepalive=30)
        self.client.loop_start()
        self._thread.start()

    def stop(self) -> None:
        """Say ``offline`` (a clean disconnect sends no last will), disconnect, join the threads."""
        self._stopping.set()
        self._wake.set()
        if self._thread.is_alive():
            self._thread.join(timeout=5)
        if self._connected.is_set():
            info = self.client.publish(self.topics.availability, "offline", qos=1, retain=True)
            try:
                info.wait_for_publish(timeout=2)
            except (RuntimeError, ValueError) as err:
                LOGGER.warning("could not say offline to the MQTT broker: %s", err)
        self.client.disconnect()
        self.client.loop_stop()

    @property
    def connected(self) -> bool:
        return self._connected.is_set()

    # -- MQTT callbacks (paho's thread; an exception here would end its loop) ------------------------

    def _on_connect(
        self,
        client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.ConnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if reason_code.is_failure:
            LOGGER.warning("MQTT broker refused the connection: %s", reason_code)
            return
        topics = self.topics
        client.subscribe([(topics.mode_command, 1), (topics.power_command, 1), (topics.ha_status, 1)])
        LOGGER.info("connected to MQTT %s:%d", self.settings.host, self.settings.port)
        self._connected.set()
        self._announce_at = self.clock.monotonic()
        self._wake.set()

    def _on_disconnect(
        self,
        _client: mqtt.Client,
        _userdata: Any,
        _flags: mqtt.DisconnectFlags,
        reason_code: ReasonCode,
        _properties: Properties | None,
    ) -> None:
        if self._connected.is_set() and not self._stopping.is_set():
            LOGGER.warning("lost the MQTT broker (%s); reconnecting", reason_code)
        self._connected.clear()

    def _on_message(self, client: mqtt.Client, _userdata: Any, message: mqtt.MQTTMessage) -> None:
        try:
            self._receive(client, message)
        except Exception:  # noqa: BLE001 - one bad message must not end the network loop
            LOGGER.exception("could not handle MQTT message on %s", message.topic)

    def _receive(self, client: mqtt.Client, message: mqtt.MQTTMessage) -> None:
        topic, payload = message.topic, message.payload
        if topic == self.topics.ha_status:
            if payload.strip() == b"online":
                self._announce_at = self.clock.monotonic() + random.uniform(0, self._announce_jitter_s)
                self._wake.set()
            return
        if topic not in (self.topics.mode_command, self.topics.power_command):
            return
        if message.retain:
            if payload:  # a command kept by the broker is stale; clear it so it is not replayed
                LOGGER.warning("ignoring a retained command on %s (cleared it)", topic)
                client.publish(topic, b"", qos=1, retain=True)
            return
        if len(payload) > MAX_PAYLOAD:
            LOGGER.warning("rejected a command on %s: %d bytes (limit %d)", topic, len(payload), MAX_PAYLOAD)
            self._refresh()
            return
        try:
            self._commands.put_nowait((topic, payload.decode("utf-8", errors="replace").strip()))
        except queue.Full:
            LOGGER.warning("rejected a command on %s: %d commands already waiting", topic, QUEUE_LIMIT)
            self._refresh()

    # -- the control loop's side ---------------------------------------------------------------------

    def exchange(
        self,
        incoming: Sequence[EventBase],
        *,
        schedule: Schedule | None,
        lag_s: float | None,
        meter: MeterReading | None = None,
        battery: BatteryReading | None = None,
    ) -> list[EventBase]:
        """Called by the daemon each tick with the other inputs and what the core knows now.

        Returns ``incoming`` plus the events of Home Assistant's commands. An override in force is put
        back into any schedule that arrives from elsewhere, so a schedule fetch does not end it early.
        Each new meter reading (with the battery power known then) feeds the daily energy counters, at
        the reading's own time, so a meter that stops sending stops the counting.
        """
        now = self.clock.now()
        self._lag_s = lag_s
        if meter is not None and meter.at != self._last_meter_at:
            self._last_meter_at = meter.at
            with self._energy_lock:
                self._energy.add(meter.at, meter.grid_w, battery.battery_w if battery is not None else None)
        events = list(incoming)
        current = schedule
        for event in incoming:
            if isinstance(event, ScheduleLoaded) and event.source != SOURCE:
                current = self._keep_override(event, current, events)
        while True:
            try:
                topic, text = self._commands.get_nowait()
            except queue.Empty:
                break
            try:
                request = self._request(topic, text, current)
                if request is not None:
                    current = apply_override(self._base if self._base is not None else current, request)
                    events += [request, self._loaded(current)]
                    LOGGER.info("Home Assistant override: %s until %s", request.mode, request.until)
            except (ValueError, ValidationError) as err:  # never let a command cost the tick
                LOGGER.warning("rejected %r on %s: %s", text, topic, err)
            self._refresh()
        view = override_view(current, now)
        if view != self._override:
            if not self._exchanged and view.power_w is not None:
                self._power_w = view.power_w  # a restart in an override: show the power it runs at
            self._override = view
            self._refresh()
        self._exchanged = True
        return events

    def _loaded(self, schedule: Schedule) -> ScheduleLoaded:
        return ScheduleLoaded(
            at=self.clock.now(), source=SOURCE, schedule=schedule.model_dump(mode="json", exclude_none=True)
        )

    def _keep_override(
        self, arrived: ScheduleLoaded, current: Schedule | None, events: list[EventBase]
    ) -> Schedule | None:
        now = self.clock.now()
        active = override_view(current, now)
        try:
            schedule = Schedule.model_validate(arrived.schedule)
        except ValidationError:
            return current  # the core will not take it either
        self._base = schedule
        if active.mode == "auto" or active.until is None:
            return schedule
        request = OverrideRequested(
            at=now, source=SOURCE, mode=active.mode, power_w=active.power_w, until=active.until
        )
        merged = apply_override(schedule, request)
        events.append(self._loaded(merged))
        return merged

    def _request(self, topic: str, text: str, current: Schedule | None) -> OverrideRequested | None:
        now = self.clock.now()
        if topic == self.topics.mode_command:
            if text not in MODE_OPTIONS:
                LOGGER.warning("rejected mode %r from Home Assistant: not one of %s", text, MODE_OPTIONS)
                return None
            until = None if text == "auto" else now + timedelta(minutes=self.settings.override_minutes)
            return self._override_request(text, now, until)
        power = self._parse_power(text)
        if power is None:
            return None
        self._power_w = power
        active = override_view(current, now)
        if active.mode in ("charge", "discharge") and active.until is not None:
            return self._override_request(active.mode, now, active.until)
        return None

    def _override_request(self, mode: str, at: datetime, until: datetime | None) -> OverrideRequested:
        limit = self.limits.max_charge_w if mode == "charge" else self.limits.max_discharge_w
        power = min(self._power_w, limit) if mode in ("charge", "discharge") else None
        return OverrideRequested(at=at, source=SOURCE, mode=mode, power_w=power, until=until)

    def _parse_power(self, text: str) -> int | None:
        try:
            value = float(text)
        except ValueError:
            LOGGER.warning("rejected power %r from Home Assistant: not a number", text)
            return None
        if not math.isfinite(value) or not 0 <= value <= self._max_power_w:
            LOGGER.warning("rejected power %r from Home Assistant: outside 0..%d W", text, self._max_power_w)
            return None
        return round(value)

    # -- the publisher thread ------------------------------------------------------------------------

    def _refresh(self) -> None:
        self._publish_now = True
        self._wake.set()

    def _run(self) -> None:
        next_state = self.clock.monotonic()
        while not self._stopping.is_set():
            try:
                next_state = self._step(next_state)
            except Exception:  # noqa: BLE001 - the publisher must outlive any one bad status
                LOGGER.exception("Home Assistant publisher step failed")
            self._wake.wait(self._sample_s)
            self._wake.clear()

    def _step(self, next_state: float) -> float:
        status = self._status()
        if not self._connected.is_set():
            return next_state
        now = self.clock.monotonic()
        announce_at = self._announce_at
        if announce_at is not None and now >= announce_at:
            self._announce_at = None
            self.client.publish(self.topics.discovery, self._discovery, qos=1, retain=True)
            self.client.publish(self.topics.availability, "online", qos=1, retain=True)
            self._publish_now = True
        if self._publish_now or now >= next_state:
            self._publish_now = False
            with self._energy_lock:
                totals = self._energy.totals()
            payload = state_payload(status, totals, self._lag_s, self._override, self._power_w)
            self.client.publish(self.topics.state, json.dumps(payload), qos=1, retain=True)
            return now + self.settings.publish_interval_s
        return next_state


def start_bridge(
    settings: HomeAssistantSettings,
    *,
    site_id: str,
    limits: LimitSettings,
    clock: Clock,
    status: Callable[[], StatusReport],
) -> HomeAssistantBridge | None:
    """A started bridge when Home Assistant is enabled in the settings, else ``None``."""
    if not settings.enabled:
        return None
    bridge = HomeAssistantBridge(settings, site_id=site_id, limits=limits, clock=clock, status=status)
    bridge.start()
    return bridge
