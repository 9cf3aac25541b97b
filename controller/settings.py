"""All configuration in one pydantic-settings model.

Sources, strongest first: explicit init values, environment variables (``ZSM_...``; nested fields with
``__``, e.g. ``ZSM_LIMITS__MIN_SOC_PCT=15``), the TOML file (``--config`` or ``ZSM_CONFIG``), defaults.
Nothing is built at import time: call :func:`load_settings`.
"""

from __future__ import annotations

import hashlib
import json
import os
from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator
from pydantic_settings import (
    BaseSettings,
    PydanticBaseSettingsSource,
    SettingsConfigDict,
    TomlConfigSettingsSource,
)

__all__ = [
    "BatterySettings",
    "ConfigError",
    "DaemonSettings",
    "LimitSettings",
    "MeterSettings",
    "RegulationSettings",
    "ScheduleSourceSettings",
    "ServerSettings",
    "Settings",
    "load_settings",
]

CONFIG_ENV = "ZSM_CONFIG"


class ConfigError(Exception):
    """The configuration is invalid; the message lists every problem with its field path."""


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid")


class BatterySettings(_Section):
    """The Zendure battery on the LAN."""

    host: str = Field(
        default="auto", description="IP or host name of the battery, or 'auto' for mDNS discovery"
    )
    port: int = Field(default=80, ge=1, le=65535, description="HTTP port of the local zenSDK API")
    serial: str | None = Field(
        default=None, description="Serial number (sn); read from the device when empty"
    )
    read_interval_s: float = Field(default=5.0, gt=0, le=300, description="Seconds between status reads")
    timeout_s: float = Field(default=3.0, gt=0, le=60, description="HTTP timeout for one request")
    retries: int = Field(
        default=2, ge=0, le=10, description="Retries of a failed request (transient errors only)"
    )
    standby_style: Literal["hold", "persist"] = Field(
        default="hold",
        description="Standby write: 'hold' = smartMode 1 (RAM), 'persist' = smartMode 0 (stored in flash)",
    )
    discovery_timeout_s: float = Field(
        default=3.0, gt=0, le=30, description="Seconds to browse mDNS when host is 'auto'"
    )


class MeterSettings(_Section):
    """The P1 smart-meter reader."""

    kind: Literal["homewizard_v1", "homewizard_v2", "dsmr_tcp", "dsmr_serial", "shelly", "json_http"] = Field(
        default="homewizard_v1", description="Meter protocol"
    )
    host: str = Field(
        default="auto", description="IP or host name of the meter, or 'auto' for mDNS discovery"
    )
    port: int | None = Field(default=None, ge=1, le=65535, description="Port (protocol default when empty)")
    token: SecretStr | None = Field(default=None, description="HomeWizard API v2 token (zsm pair-meter)")
    serial_port: str | None = Field(
        default=None, description="Serial device for dsmr_serial, e.g. /dev/ttyUSB0"
    )
    url: str | None = Field(default=None, description="URL for the json_http meter")
    json_path: str | None = Field(default=None, description="Dotted path to the power value for json_http")
    unit: Literal["W", "kW"] = Field(default="W", description="Unit of the json_http value")
    sign: Literal[1, -1] = Field(
        default=1, description="+1 when the json_http value is + for import, else -1"
    )
    poll_interval_s: float = Field(
        default=1.0, gt=0, le=60, description="Seconds between polls (pull meters)"
    )
    timeout_s: float = Field(default=2.0, gt=0, le=60, description="Timeout for one meter request")
    serial: str | None = Field(
        default=None,
        description="HomeWizard serial (12 hex): TLS name check for v2 and which meter 'auto' picks",
    )
    ca_file: Path | None = Field(
        default=None, description="PEM file of the HomeWizard CA (API v2 over HTTPS)"
    )
    push: bool = Field(
        default=True, description="HomeWizard v2: use the /api/ws WebSocket push instead of polling"
    )
    dsmr_version: Literal["2.2", "3", "4", "5", "5B"] = Field(
        default="5", description="DSMR telegram version for dsmr_tcp/dsmr_serial (5B = Belgian e-MUCS)"
    )
    shelly_variant: Literal["pro3em", "em1"] = Field(
        default="pro3em",
        description="Shelly API: 'pro3em' (EM.GetStatus) or 'em1' (EM1.GetStatus, EM Gen3/Pro EM)",
    )
    meter_timezone: str = Field(
        default="Europe/Amsterdam", description="Time zone of the meter clock (HomeWizard v2 timestamps)"
    )


class LimitSettings(_Section):
    """Safety limits and the hysteresis needed to leave SafetyLimit."""

    min_soc_pct: float = Field(default=10.0, ge=0, le=100, description="Stop discharging at this SoC")
    max_soc_pct: float = Field(default=95.0, ge=0, le=100, description="Stop charging at this SoC")
    soc_hysteresis_pct: float = Field(default=2.0, ge=0, le=20, description="SoC margin to leave SafetyLimit")
    max_temperature_c: float = Field(default=55.0, description="Enter SafetyLimit above this temperature")
    temperature_hysteresis_c: float = Field(default=5.0, ge=0, description="Cool-down margin to leave it")
    max_charge_w: int = Field(default=1000, ge=0, description="Largest AC charge power ever commanded")
    max_discharge_w: int = Field(default=800, ge=0, description="Largest discharge power ever commanded")
    meter_stale_s: float = Field(default=30.0, gt=0, description="Meter data older than this is stale")
    battery_stale_s: float = Field(default=30.0, gt=0, description="Battery data older than this is stale")

    @model_validator(mode="after")
    def _soc_window(self) -> LimitSettings:
        if self.min_soc_pct >= self.max_soc_pct:
            raise ValueError(
                f"min_soc_pct ({self.min_soc_pct}) must be below max_soc_pct ({self.max_soc_pct})"
            )
        return self


class RegulationSettings(_Section):
    """NetZero / NetZero+ regulator knobs."""

    lag_s: float | Literal["auto"] = Field(
        default="auto", description="Meter lag in seconds, or 'auto' to estimate it online"
    )
    deadband_w: float = Field(default=25.0, ge=0, description="Ignore set-point changes smaller than this")
    min_write_interval_s: float = Field(
        default=10.0,
        ge=0,
        description="Seconds between limit writes on average (a token bucket allowing bursts of write_burst)",
    )
    direction_dwell_s: float = Field(
        default=60.0, ge=0, description="Minimum seconds before switching charge <-> discharge (acMode relay)"
    )
    start_threshold_w: float = Field(default=50.0, ge=0, description="Smallest non-zero set-point")
    target_offset_w: float = Field(default=0.0, description="Aim for this grid import instead of 0 W")
    write_burst: int = Field(
        default=10,
        ge=1,
        le=120,
        description="Limit writes that may follow each other quickly after a calm period",
    )
    min_write_gap_s: float = Field(
        default=2.0, ge=0, description="Hard minimum seconds between two limit writes"
    )
    spike_filter: bool = Field(
        default=True,
        description="Act on the median of the last three load estimates (ignore one-telegram spikes)",
    )
    lag_initial_s: float = Field(
        default=10.0,
        ge=0,
        le=120,
        description="Lag assumed with lag_s = 'auto' until the estimate is confident",
    )
    lag_max_s: float = Field(
        default=40.0, gt=0, le=120, description="Largest meter lag the estimator considers"
    )
    lag_window_s: float = Field(
        default=150.0, gt=0, description="Memory (time constant) of the online lag estimator, seconds"
    )
    lag_min_confidence: float = Field(
        default=0.3, ge=0, le=1, description="Use the lag estimate only at or above this confidence"
    )
    battery_dead_time_s: float = Field(
        default=2.0,
        ge=0,
        le=120,
        description="Model of the battery: seconds from a write to the first effect",
    )
    battery_ramp_w_per_s: float = Field(
        default=400.0, gt=0, description="Model of the battery: how fast its output follows a new limit, W/s"
    )


class ServerSettings(_Section):
    """The zsm web server the daemon reports to."""

    url: str | None = Field(
        default=None, description="Base URL of the zsm server, e.g. https://zsm.example.org"
    )
    token: SecretStr | None = Field(default=None, description="The site's controller token (zsm site add)")
    timeout_s: float = Field(default=10.0, gt=0, description="Timeout for one server request")
    forward_batch: int = Field(default=500, ge=1, le=10_000, description="Events per ingest request")
    forward_interval_s: float = Field(
        default=5.0, gt=0, le=3600, description="Seconds between event uploads (a backlog goes without pause)"
    )
    status_interval_s: float = Field(default=60.0, gt=0, description="Seconds between status posts")


class ScheduleSourceSettings(_Section):
    """Where the schedule comes from."""

    source: Literal["server", "url", "file"] = Field(default="server", description="server, url or file")
    url: str | None = Field(default=None, description="URL of a schedule JSON file (source = url)")
    path: Path | None = Field(default=None, description="Local schedule JSON file (source = file)")
    username: str | None = Field(default=None, description="Basic-auth user for the URL")
    password: SecretStr | None = Field(default=None, description="Basic-auth password for the URL")
    bearer_token: SecretStr | None = Field(default=None, description="Bearer token for the URL")
    fetch_interval_s: float = Field(
        default=300.0, gt=0, description="Seconds between full schedule fetches (the upper bound)"
    )
    check_interval_s: float = Field(
        default=30.0, gt=0, description="Seconds between conditional schedule checks (a 304 when unchanged)"
    )

    @model_validator(mode="after")
    def _source_needs_location(self) -> ScheduleSourceSettings:
        if self.source == "url" and not self.url:
            raise ValueError("schedule.source = 'url' needs schedule.url")
        if self.source == "file" and self.path is None:
            raise ValueError("schedule.source = 'file' needs schedule.path")
        return self


class DaemonSettings(_Section):
    """The control loop."""

    tick_s: float = Field(default=1.0, gt=0, le=60, description="Seconds between control ticks")
    standby_on_stop: bool = Field(default=True, description="Command standby when the daemon stops")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level")


class Settings(BaseSettings):
    """The whole zsm configuration."""

    model_config = SettingsConfigDict(
        env_prefix="ZSM_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    site_id: str = Field(default="home", min_length=1, max_length=64, description="Name of this home (site)")
    database_path: Path = Field(default=Path("zsm.db"), description="SQLite event log of the daemon")
    battery: BatterySettings = Field(default_factory=BatterySettings)
    meter: MeterSettings = Field(default_factory=MeterSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    regulation: RegulationSettings = Field(default_factory=RegulationSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    schedule: ScheduleSourceSettings = Field(default_factory=ScheduleSourceSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)

    def digest(self) -> str:
        """A short stable digest of the effective configuration (secrets included only as hashes)."""
        text = json.dumps(self.model_dump(mode="json"), sort_keys=True, default=str)
        return hashlib.sha256(text.encode()).hexdigest()[:16]


def _settings_class_for(toml_path: Path | None) -> type[Settings]:
    class _FileSettings(Settings):
        @classmethod
        def settings_customise_sources(
            cls,
            settings_cls: type[BaseSettings],
            init_settings: PydanticBaseSettingsSource,
            env_settings: PydanticBaseSettingsSource,
            dotenv_settings: PydanticBaseSettingsSource,
            file_secret_settings: PydanticBaseSettingsSource,
        ) -> tuple[PydanticBaseSettingsSource, ...]:
            sources: list[PydanticBaseSettingsSource] = [init_settings, env_settings]
            if toml_path is not None:
                sources.append(TomlConfigSettingsSource(settings_cls, toml_file=toml_path))
            return tuple(sources)

    _FileSettings.__name__ = "Settings"
    return _FileSettings


def _format_errors(err: ValidationError) -> str:
    lines = []
    for item in err.errors():
        where = ".".join(str(part) for part in item["loc"]) or "(config)"
        message = item["msg"].removeprefix("Value error, ")
        lines.append(f"  {where}: {message}")
    return "invalid configuration:\n" + "\n".join(lines)


def load_settings(config_path: Path | str | None = None, **overrides: Any) -> Settings:
    """Build the settings from the TOML file (argument, else ``$ZSM_CONFIG``), the environment and overrides.

    Raises :class:`ConfigError` with one line per problem (field path and message).
    """
    path_text = config_path if config_path is not None else os.environ.get(CONFIG_ENV)
    toml_path = Path(path_text) if path_text else None
    if toml_path is not None and not toml_path.is_file():
        raise ConfigError(f"config file not found: {toml_path}")
    try:
        settings = _settings_class_for(toml_path)(**overrides)
    except ValidationError as err:
        raise ConfigError(_format_errors(err)) from err
    except ValueError as err:  # TOML syntax errors surface as ValueError subclasses
        raise ConfigError(f"cannot read config file {toml_path}: {err}") from err
    return settings
