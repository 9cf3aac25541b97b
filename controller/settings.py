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

from controller.domain.params import Limits, RegulationParams

__all__ = [
    "BatterySettings",
    "ConfigError",
    "DaemonSettings",
    "HomeAssistantSettings",
    "LimitSettings",
    "MeterSettings",
    "MqttBatterySettings",
    "PlannerSettings",
    "PricesSettings",
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


class MqttBatterySettings(_Section):
    """A legacy Zendure device (Hub, Hyper 2000, ACE 1500, AIO 2400) on an MQTT broker."""

    host: str = Field(default="127.0.0.1", description="MQTT broker the device reports to")
    port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port (8883 for TLS)")
    username: str | None = Field(default=None, description="Broker user name (empty: anonymous)")
    password: SecretStr | None = Field(default=None, description="Broker password")
    tls: bool = Field(default=False, description="Connect to the broker over TLS")
    ca_file: Path | None = Field(default=None, description="PEM CA file for the broker's TLS certificate")
    product_key: str | None = Field(
        default=None, description="Product key of the device (topic segment, e.g. gDa3tb); zsm discover-mqtt"
    )
    device_key: str | None = Field(
        default=None, description="Device key (deviceId, ~8 chars); zsm discover-mqtt"
    )
    model: Literal["hyper2000", "hub1200", "hub2000", "aio2400", "ace1500"] | None = Field(
        default=None, description="Device model; from the product key when empty"
    )
    command_interval_s: float | None = Field(
        default=None, ge=0, le=600, description="Seconds between power changes; model default when empty"
    )
    getall_interval_s: float = Field(
        default=60.0, gt=0, le=3600, description="Seconds between full-report (getAll) requests"
    )


class BatterySettings(_Section):
    """The Zendure battery on the LAN."""

    kind: Literal["zenSDK", "mqtt"] = Field(
        default="zenSDK", description="zenSDK (local HTTP API) or mqtt (legacy devices on a broker)"
    )
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
    mqtt: MqttBatterySettings = Field(default_factory=MqttBatterySettings)


class BatteryMemberSettings(BatterySettings):
    """One of several batteries on the same meter (``[[batteries]]``; ``[battery]`` is then unused)."""

    name: str = Field(
        default="battery", min_length=1, max_length=32, pattern=r"^[A-Za-z0-9_-]+$",
        description="Short unique name of this battery (events, status and page show it)",
    )  # fmt: skip
    capacity_wh: float = Field(
        default=1920.0, gt=0, le=100_000, description="Usable energy in Wh (weights the combined SoC)"
    )


class AllocationSettings(_Section):
    """How one total set-point is split over several batteries (``[[batteries]]``)."""

    circuit_limit_w: float | None = Field(
        default=None, gt=0, le=50_000, description="Shared fuse or circuit limit for all batteries together"
    )
    rotate_soc_pts: float = Field(
        default=5.0, ge=0, le=50, description="An idle battery replaces a running one beyond this SoC gap"
    )
    drop_fraction: float = Field(
        default=0.8,
        gt=0,
        le=1,
        description="Drop a running battery when the others carry the target at this fraction",
    )
    balance_gain: float = Field(
        default=5.0, ge=0, le=50, description="Tilt of the split toward SoC balance (per 100 SoC points)"
    )


class MeterSettings(_Section):
    """The P1 smart-meter reader."""

    kind: Literal[
        "homewizard_v1", "homewizard_v2", "dsmr_tcp", "dsmr_serial", "shelly", "json_http", "zendure_3ct"
    ] = Field(default="homewizard_v1", description="Meter protocol")
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
    dsmr_version: Literal["2.2", "3", "4", "5", "5B", "5L", "5S", "Q3D", "T210D", "HU"] = Field(
        default="5",
        description=(
            "DSMR telegram flavour for dsmr_tcp/dsmr_serial: 2.2/3/4/5 (NL), 5B (Belgian e-MUCS), 5L "
            "(Luxembourg Smarty), 5S (Sweden), Q3D (EasyMeter), T210D (Sagemcom T210-D, Austria), HU (E.ON "
            "Hungary)"
        ),
    )
    dsmr_key: SecretStr | None = Field(
        default=None,
        description="Encrypted P1 (Luxembourg Smarty, Austria): the 32-hex-digit key (GUEK) from the utility",
    )
    dsmr_auth_key: SecretStr | None = Field(
        default=None,
        description="Encrypted P1: the authentication key (AK) when the utility gives one",
    )
    shelly_variant: Literal["pro3em", "em1", "gen1"] = Field(
        default="pro3em",
        description=(
            "Shelly API: 'pro3em' (EM.GetStatus), 'em1' (EM1.GetStatus, EM Gen3/Pro EM) or 'gen1' "
            "(/status emeters, Shelly EM/3EM first generation)"
        ),
    )
    shelly_channel: int | None = Field(
        default=None,
        ge=0,
        le=2,
        description=(
            "Shelly channel: em1 = EM1 id (empty: 0; a Pro EM-50 grid clamp may be 1); gen1 = emeter index "
            "(empty: sum of all emeters)"
        ),
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

    def domain(self) -> Limits:
        """These limits as the core's own type."""
        return Limits(**self.model_dump())

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
        default="auto",
        description="Meter lag in seconds to start from, or 'auto' (start from lag_initial_s); "
        "a confirmed online estimate within lag_min_s..lag_max_s replaces it",
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
    limit_cycle_fallback: bool = Field(
        default=True,
        description="When the set-point swings back and forth like a limit cycle, hold each set-point until "
        "its effect is in the meter (logged as regulation_fallback)",
    )
    lag_initial_s: float = Field(
        default=10.0,
        ge=0,
        le=120,
        description="Lag assumed with lag_s = 'auto' until the estimate is confident",
    )
    lag_min_s: float = Field(
        default=5.0,
        ge=0,
        le=120,
        description="Smallest meter lag the regulator must stay stable for (band lag_min_s..lag_max_s)",
    )
    lag_max_s: float = Field(
        default=40.0,
        gt=0,
        le=120,
        description="Largest meter lag the regulator must stay stable for and the estimator considers",
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
        description="Model of the battery: seconds from a write to the first effect (where the model starts; "
        "see learn_dead_time)",
    )
    learn_dead_time: bool = Field(
        default=True,
        description="Replace battery_dead_time_s by the dead time the battery's own readings show after "
        "writes, once enough of them agree (logged as dead_time_estimated)",
    )
    battery_ramp_w_per_s: float = Field(
        default=400.0, gt=0, description="Model of the battery: how fast its output follows a new limit, W/s"
    )

    def domain(self) -> RegulationParams:
        """These knobs as the core's own type."""
        return RegulationParams(**self.model_dump())


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


class PricesSettings(_Section):
    """Day-ahead prices and the household's tariff (see README "Prices and tariffs")."""

    source: Literal["energyzero", "awattar", "entsoe", "json", "csv"] = Field(
        default="energyzero", description="Price source"
    )
    url: str | None = Field(default=None, description="Override the source URL (required for json/csv)")
    zone: str = Field(default="NL", max_length=32, description="Bidding zone (ENTSO-E name or EIC)")
    token: SecretStr | None = Field(default=None, description="ENTSO-E security token")
    unit: Literal["eur_per_kwh", "eur_per_mwh"] = Field(default="eur_per_kwh", description="Unit of json/csv")
    resolution_min: Literal[15, 60] = Field(default=15, description="Interval length to ask for")
    margin_eur_per_kwh: float = Field(default=0.0, ge=-1, le=1, description="Supplier margin per kWh")
    energy_tax_eur_per_kwh: float = Field(default=0.0, ge=0, le=1, description="Energy tax per kWh")
    vat_pct: float = Field(default=0.0, ge=0, le=50, description="VAT on imports, percent")
    export: Literal["same_as_import", "market", "fixed", "none"] = Field(
        default="market", description="How export is paid: net metering, market (+ margin), fixed or not"
    )
    export_margin_eur_per_kwh: float = Field(
        default=0.0, ge=-1, le=1, description="Added to the market price for export = market"
    )
    export_fixed_eur_per_kwh: float = Field(default=0.0, ge=-1, le=1, description="Price for export = fixed")

    def source_fields(self) -> dict[str, object]:
        """The fields of :class:`controller.prices.fetch.PriceSource`."""
        return {
            "kind": self.source,
            "url": self.url,
            "zone": self.zone,
            "token": self.token,
            "unit": self.unit,
            "resolution_min": self.resolution_min,
        }


class PlannerSettings(_Section):
    """The price planner (off by default; see README "The planner")."""

    enabled: bool = Field(default=False, description="Plan the schedule from prices")
    horizon_h: float = Field(default=36.0, ge=1, le=48, description="Hours to plan ahead (prices permitting)")
    step_min: Literal[15, 30, 60] = Field(default=15, description="Planning step in minutes")
    timezone: str = Field(default="Europe/Amsterdam", description="Zone of the planned slots")
    capacity_wh: float = Field(default=1920.0, gt=0, le=200_000, description="Usable battery capacity")
    charge_efficiency: float = Field(default=0.93, gt=0.5, le=1, description="AC to stored energy")
    discharge_efficiency: float = Field(default=0.92, gt=0.5, le=1, description="Stored energy to AC")
    wear_eur_per_kwh: float = Field(default=0.02, ge=0, le=1, description="Wear cost per kWh discharged")
    grid_charge: bool = Field(default=True, description="May charge from the grid")
    export_discharge: bool = Field(default=False, description="May discharge into the grid")
    history_days: int = Field(default=28, ge=1, le=365, description="Days of log to learn load from")
    replan_soc_drift_pct: float = Field(
        default=10.0, gt=0, le=100, description="Re-plan when SoC is this far from the plan"
    )
    replan_load_drift_w: float = Field(
        default=300.0, gt=0, le=50_000, description="Re-plan when the last hour's load is this far off"
    )


class DaemonSettings(_Section):
    """The control loop."""

    tick_s: float = Field(default=1.0, gt=0, le=60, description="Seconds between control ticks")
    standby_on_stop: bool = Field(default=True, description="Command standby when the daemon stops")
    log_level: Literal["DEBUG", "INFO", "WARNING", "ERROR"] = Field(default="INFO", description="Log level")


class HomeAssistantSettings(_Section):
    """Home Assistant over MQTT: discovery, state and mode overrides (off by default)."""

    enabled: bool = Field(default=False, description="Publish to Home Assistant over MQTT")
    host: str = Field(default="127.0.0.1", description="MQTT broker host")
    port: int = Field(default=1883, ge=1, le=65535, description="MQTT broker port")
    username: str | None = Field(default=None, description="MQTT user name")
    password: SecretStr | None = Field(default=None, description="MQTT password")
    discovery_prefix: str = Field(
        default="homeassistant",
        pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$",
        max_length=64,
        description="Home Assistant's discovery prefix (its status topic is <prefix>/status)",
    )
    base_topic: str = Field(
        default="zsm",
        pattern=r"^[A-Za-z0-9_-]+(/[A-Za-z0-9_-]+)*$",
        max_length=64,
        description="Topics of this daemon start with <base_topic>/zsm_<site_id>",
    )
    publish_interval_s: float = Field(
        default=10.0, gt=0, le=3600, description="Seconds between state publications"
    )
    override_minutes: int = Field(
        default=60, ge=1, le=24 * 60, description="How long a mode chosen in Home Assistant stays in force"
    )
    default_power_w: int = Field(
        default=800, ge=0, le=100_000, description="Power for charge/discharge overrides until HA sets one"
    )
    timezone: str = Field(
        default="Europe/Amsterdam", description="IANA timezone in which the daily energy counters reset"
    )


class Settings(BaseSettings):
    """The whole zsm configuration."""

    model_config = SettingsConfigDict(
        env_prefix="ZSM_", env_nested_delimiter="__", extra="forbid", validate_default=True
    )

    site_id: str = Field(default="home", min_length=1, max_length=64, description="Name of this home (site)")
    database_path: Path = Field(default=Path("zsm.db"), description="SQLite event log of the daemon")
    battery: BatterySettings = Field(default_factory=BatterySettings)
    batteries: list[BatteryMemberSettings] = Field(
        default_factory=list, max_length=8, description="Several batteries on one meter (replaces [battery])"
    )
    allocation: AllocationSettings = Field(default_factory=AllocationSettings)
    meter: MeterSettings = Field(default_factory=MeterSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    regulation: RegulationSettings = Field(default_factory=RegulationSettings)
    server: ServerSettings = Field(default_factory=ServerSettings)
    schedule: ScheduleSourceSettings = Field(default_factory=ScheduleSourceSettings)
    daemon: DaemonSettings = Field(default_factory=DaemonSettings)
    home_assistant: HomeAssistantSettings = Field(default_factory=HomeAssistantSettings)
    prices: PricesSettings = Field(default_factory=PricesSettings)
    planner: PlannerSettings = Field(default_factory=PlannerSettings)

    @model_validator(mode="after")
    def _unique_battery_names(self) -> Settings:
        names = [member.name for member in self.batteries]
        if len(set(names)) != len(names):
            raise ValueError(f"battery names must be unique: {names}")
        return self

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
