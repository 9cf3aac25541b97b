"""HTTP client for the Zendure zenSDK local API (``/properties/report``, ``/properties/write``).

One request in flight per device (a lock per address, shared by every client in the process), short
timeouts, retries only for transient failures, and a read-back after each write. The device's report can
lag a write, so a write that does not show at once stays *pending* and is confirmed by the following status
reads (up to ``confirm_reads`` in all, like Zendure's own client); no read ever waits inside a tick. Only
when none of them shows it is it reported as not applied (:class:`CommandNotApplied`); a write that showed
and is later undone (acMode revert, the cloud overwriting settings) is reported as drifted.
``requests`` exceptions are caught only in :meth:`ZendureClient._request`.
"""

from __future__ import annotations

import json
import logging
import threading
from dataclasses import dataclass
from typing import Any

from controller.clock import Clock
from controller.devices.errors import (
    ApiDisabled,
    DeviceError,
    DeviceResponseError,
    DeviceTimeout,
    DeviceUnauthorized,
    DeviceUnreachable,
    InvalidPayload,
    PayloadTooLarge,
    WriteRejected,
)
from controller.devices.hosts import HostResolver, as_resolver
from controller.devices.http import LanClient, LanResponse
from controller.devices.wear import WearCounter
from controller.devices.zendure_commands import StandbyStyle, encode_body, property_payload
from controller.devices.zendure_models import (
    AC_MODE_OUTPUT,
    WriteReply,
    ZendureReport,
    parse_report,
    parse_write_reply,
)
from controller.domain.commands import Command
from controller.domain.events import (
    BatteryReading,
    CommandNotApplied,
    CommandResult,
    DeviceWriteCounted,
    EventBase,
)

__all__ = ["CommandOutcome", "ZendureClient"]

LOGGER = logging.getLogger(__name__)

_LOCKS: dict[str, threading.Lock] = {}
_LOCKS_GUARD = threading.Lock()
_CHECKED_KEYS = ("acMode", "inputLimit", "outputLimit")


def _device_lock(key: str) -> threading.Lock:
    with _LOCKS_GUARD:
        return _LOCKS.setdefault(key, threading.Lock())


@dataclass(frozen=True)
class CommandOutcome:
    """What became of one command: accepted by the device? applied (read back)? and the events to log."""

    command: Command
    payload: dict[str, Any]
    accepted: bool
    applied: bool
    latency_ms: float
    error: str | None = None
    report: ZendureReport | None = None
    events: tuple[EventBase, ...] = ()
    pending: bool = False
    """Accepted, not yet shown by the report: the next status reads confirm it (or report it not applied)."""


class ZendureClient:
    """A zenSDK device at ``endpoint`` (``"host"``, ``"host:port"`` or a :class:`HostResolver`)."""

    def __init__(
        self,
        endpoint: HostResolver | str,
        *,
        clock: Clock,
        port: int = 80,
        sn: str | None = None,
        timeout_s: float = 3.0,
        retries: int = 2,
        retry_delay_s: float = 0.5,
        confirm_reads: int = 7,
        standby: StandbyStyle = StandbyStyle.HOLD,
        client: LanClient | None = None,
    ) -> None:
        self._endpoint = as_resolver(endpoint, port)
        self._clock = clock
        self.sn = sn
        self.timeout_s = timeout_s
        self.retries = max(0, retries)
        self.retry_delay_s = retry_delay_s
        self.confirm_reads = max(1, confirm_reads)
        self.standby = standby
        self._client = client or LanClient()
        self._request_id = 0
        self.wear = WearCounter(clock)
        self.last_report: ZendureReport | None = None
        self._last_payload: dict[str, Any] | None = None
        self._last_command: Command | None = None
        self._drift_reported = False
        self._confirm_left = 0
        """Status reads still allowed to confirm the last write (0 = confirmed or given up)."""

    # -- transport ----------------------------------------------------------------------------------------
    @property
    def base_url(self) -> str:
        host, port = self._endpoint.address()
        return f"http://{host}:{port}"

    def _request(self, method: str, path: str, body: bytes | None = None) -> LanResponse:
        """One HTTP exchange under the device lock (the whole body is read inside it); transport failures
        become typed errors (:class:`LanClient`: a kept-alive connection, no ``requests`` overhead)."""
        host, port = self._endpoint.address()
        lock = _device_lock(f"{host}:{port}")
        if not lock.acquire(timeout=self.timeout_s * 2):
            raise DeviceTimeout(f"zendure {host}:{port}: another request is still in flight")
        try:
            return self._client.request(
                method,
                host,
                port,
                path,
                body=body,
                headers={"Content-Type": "application/json"} if body is not None else None,
                timeout_s=self.timeout_s,
                what=f"zendure {host}:{port}",
                endpoint=self._endpoint,
                check=False,
            )
        finally:
            lock.release()

    def _with_retries(self, method: str, path: str, body: bytes | None = None) -> LanResponse:
        """Retry transient failures; a POST is retried only when it cannot have reached the device."""
        attempt = 0
        while True:
            try:
                return self._request(method, path, body)
            except DeviceTimeout:
                if method != "GET" or attempt >= self.retries:
                    raise
            except DeviceUnreachable:
                if attempt >= self.retries:
                    raise
            attempt += 1
            LOGGER.debug("zendure %s %s: retry %d", method, path, attempt)
            self._clock.sleep(self.retry_delay_s * attempt)

    @staticmethod
    def _error_text(response: LanResponse) -> tuple[str, dict[str, Any]]:
        try:
            body = json.loads(response.text)
        except ValueError:
            return response.text[:200], {}
        if not isinstance(body, dict):
            return response.text[:200], {}
        text = body.get("error") or body.get("msg") or response.text[:200]
        return str(text), body

    def _check_status(self, response: LanResponse, what: str) -> None:
        status = response.status_code
        if status == 200:
            return
        text, body = self._error_text(response)
        code = body.get("code") if isinstance(body.get("code"), int) else None
        message = f"zendure {what}: HTTP {status}: {text}"
        if status == 413:
            raise PayloadTooLarge(message, status=status, code=code)
        if status == 401:
            raise DeviceUnauthorized(message, status=status, code=code)
        if body.get("success") is False and "msg" in body:
            raise ApiDisabled(message + " (is the local API enabled? add HEMS in the app)", status=status)
        raise DeviceResponseError(message, status=status, code=code)

    # -- reads --------------------------------------------------------------------------------------------
    def report(self) -> ZendureReport:
        """``GET /properties/report``, parsed (the body is JSON whatever the Content-Type says)."""
        response = self._with_retries("GET", "/properties/report")
        self._check_status(response, "report")
        try:
            report = parse_report(response.content)  # a report has properties: no error reply parses
        except InvalidPayload:
            try:
                raw = json.loads(response.text)
            except ValueError as err:
                raise InvalidPayload(f"zendure report is not JSON: {response.text[:120]!r}") from err
            if isinstance(raw, dict) and raw.get("success") is False and "properties" not in raw:
                raise ApiDisabled(
                    f"zendure report: {raw.get('msg', 'error reply')}", code=raw.get("code")
                ) from None
            raise
        if self.sn is None:
            self.sn = report.sn
        elif report.sn != self.sn:
            raise DeviceResponseError(f"zendure at {self.base_url} is {report.sn}, expected {self.sn}")
        self.last_report = report
        self.wear.observe({"acMode": report.properties.ac_mode, "smartMode": report.properties.smart_mode})
        return report

    def read(self) -> BatteryReading:
        """One status read as a :class:`BatteryReading` received now."""
        return self.report().to_reading(self._clock.now())

    @property
    def confirming(self) -> bool:
        """Whether the last write is still waiting for a status read that shows it."""
        return self._confirm_left > 0

    def poll(self) -> list[EventBase]:
        """A reading, plus :class:`CommandNotApplied` once when the last write did not show within
        ``confirm_reads`` reads, or when the device drifted from it later."""
        try:
            report = self.report()
        except DeviceError:
            self._count_confirm_read("read-back failed")
            raise
        events: list[EventBase] = [report.to_reading(self._clock.now())]
        mismatch = self._mismatch(report)
        if self._confirm_left > 0:
            if not mismatch:
                self._confirm_left = 0
                LOGGER.info("zendure %s now shows %s", self.sn, self._last_command)
            else:
                events.extend(self._count_confirm_read(mismatch))
            return events
        if mismatch and not self._drift_reported and self._last_command is not None:
            self._drift_reported = True
            LOGGER.warning("zendure %s no longer follows %s: %s", self.sn, self._last_command, mismatch)
            events.append(
                CommandNotApplied(
                    at=self._clock.now(), command=self._last_command, detail=f"device drifted: {mismatch}"
                )
            )
        elif not mismatch:
            self._drift_reported = False
        return events

    def _count_confirm_read(self, mismatch: str) -> list[EventBase]:
        """One more confirmation read that did not show the write; the event when it was the last one."""
        if self._confirm_left <= 0:
            return []
        self._confirm_left -= 1
        if self._confirm_left > 0 or self._last_command is None:
            return []
        self._drift_reported = True
        LOGGER.warning(
            "zendure accepted %s but did not apply it (%d reads): %s",
            self._last_command,
            self.confirm_reads,
            mismatch,
        )
        detail = f"not applied after {self.confirm_reads} reads: {mismatch}"
        return [CommandNotApplied(at=self._clock.now(), command=self._last_command, detail=detail)]

    def _mismatch(self, report: ZendureReport) -> str:
        if self._last_payload is None:
            return ""
        wanted = self._last_payload["properties"]
        have = report.properties.model_dump(by_alias=True)
        diffs = [
            f"{k}={have.get(k)!r} (wrote {wanted[k]!r})" for k in _CHECKED_KEYS if have.get(k) != wanted[k]
        ]
        return ", ".join(diffs)

    # -- writes -------------------------------------------------------------------------------------------
    def write_properties(self, body: dict[str, Any]) -> WriteReply:
        """``POST /properties/write`` with a full body (``sn`` included); typed errors for every refusal."""
        data = encode_body(body)
        response = self._with_retries("POST", "/properties/write", data)
        self._check_status(response, "write")
        reply = parse_write_reply(response.text)
        sn = str(body.get("sn", ""))
        if not reply.accepted(sn):
            raise WriteRejected(
                f"zendure write not accepted: success={reply.success!r} code={reply.code!r}",
                status=200,
                code=reply.code,
            )
        return reply

    def payload_for(self, command: Command) -> dict[str, Any]:
        """The body that :meth:`apply` would send for ``command`` now (live limits from the last report)."""
        if self.sn is None:
            self.report()
        assert self.sn is not None
        report = self.last_report
        standby_ac = AC_MODE_OUTPUT
        if report is not None and report.ac_mode_valid and report.properties.ac_mode is not None:
            standby_ac = report.properties.ac_mode  # standby never switches the relay
        self._request_id += 1
        return property_payload(
            command,
            self.sn,
            max_charge_w=report.max_charge_w if report else None,
            max_discharge_w=report.max_discharge_w if report else None,
            standby=self.standby,
            standby_ac_mode=standby_ac,
            request_id=self._request_id,
        )

    def apply(self, command: Command) -> CommandOutcome:
        """Write ``command`` as a full property set, then read back until it shows (or give up).

        Never raises :class:`DeviceError`: failures come back as an outcome with ``accepted=False`` and a
        :class:`CommandResult` event carrying the error.
        """
        start = self._clock.monotonic()
        events: list[EventBase] = []
        try:
            payload = self.payload_for(command)
            self.write_properties(payload)
        except DeviceError as err:
            latency = (self._clock.monotonic() - start) * 1000
            LOGGER.warning("zendure write %s failed: %s: %s", command, err.__class__.__name__, err)
            events.append(
                CommandResult(
                    at=self._clock.now(),
                    command=command,
                    ok=False,
                    latency_ms=latency,
                    error=f"{err.__class__.__name__}: {err}",
                )
            )
            last = self.last_report
            return CommandOutcome(command, {}, False, False, latency, str(err), last, tuple(events))
        latency = (self._clock.monotonic() - start) * 1000
        events.append(CommandResult(at=self._clock.now(), command=command, ok=True, latency_ms=latency))
        counted: DeviceWriteCounted | None = self.wear.record(payload["properties"])
        if counted is not None:
            events.append(counted)
        self._last_payload = payload
        self._last_command = command
        self._drift_reported = False
        self._confirm_left = self.confirm_reads
        report: ZendureReport | None = None
        try:
            report = self.report()
            mismatch = self._mismatch(report)
        except DeviceError as err:
            mismatch = f"read-back failed: {err.__class__.__name__}: {err}"
        if not mismatch:
            self._confirm_left = 0
        else:
            events.extend(self._count_confirm_read(mismatch))
            LOGGER.info(
                "zendure accepted %s, not shown yet (%s): confirming on the next reads", command, mismatch
            )
        return CommandOutcome(
            command,
            payload,
            True,
            not mismatch,
            latency,
            mismatch or None,
            report,
            tuple(events),
            pending=self._confirm_left > 0,
        )
