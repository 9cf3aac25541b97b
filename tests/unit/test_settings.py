"""Settings: TOML file, environment overrides, clear validation errors, and `zsm config check`."""

from __future__ import annotations

from pathlib import Path

import pytest

from controller.cli import main
from controller.settings import ConfigError, load_settings


def test_defaults_are_valid(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("ZSM_CONFIG", raising=False)
    settings = load_settings()
    assert settings.limits.min_soc_pct < settings.limits.max_soc_pct
    assert settings.regulation.lag_s == "auto"
    assert len(settings.digest()) == 16


def test_toml_then_env_override(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config = tmp_path / "zsm.toml"
    config.write_text('site_id = "attic"\n[limits]\nmin_soc_pct = 12\n[battery]\nhost = "192.0.2.10"\n')
    settings = load_settings(config)
    assert (settings.site_id, settings.limits.min_soc_pct, settings.battery.host) == (
        "attic",
        12,
        "192.0.2.10",
    )
    monkeypatch.setenv("ZSM_LIMITS__MIN_SOC_PCT", "20")
    monkeypatch.setenv("ZSM_SITE_ID", "cellar")
    settings = load_settings(config)
    assert (settings.site_id, settings.limits.min_soc_pct) == ("cellar", 20)
    monkeypatch.setenv("ZSM_CONFIG", str(config))
    monkeypatch.delenv("ZSM_SITE_ID")
    assert load_settings().site_id == "attic"


def test_min_soc_above_max_names_both_fields(tmp_path: Path) -> None:
    config = tmp_path / "zsm.toml"
    config.write_text("[limits]\nmin_soc_pct = 90\nmax_soc_pct = 80\n")
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = str(caught.value)
    assert "min_soc_pct (90.0)" in message and "max_soc_pct (80.0)" in message


def test_every_error_is_listed_with_its_path(tmp_path: Path) -> None:
    config = tmp_path / "zsm.toml"
    config.write_text('[meter]\nkind = "carrier_pigeon"\n[battery]\nport = 0\n[bogus]\nx = 1\n')
    with pytest.raises(ConfigError) as caught:
        load_settings(config)
    message = str(caught.value)
    for path in ("meter.kind", "battery.port", "bogus"):
        assert f"  {path}:" in message


def test_missing_file_and_bad_toml(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="not found"):
        load_settings(tmp_path / "nope.toml")
    broken = tmp_path / "broken.toml"
    broken.write_text("[limits\nmin = ")
    with pytest.raises(ConfigError, match="cannot read"):
        load_settings(broken)


def test_config_check_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    good = tmp_path / "good.toml"
    good.write_text('site_id = "attic"\n')
    assert main(["--config", str(good), "config", "check"]) == 0
    assert 'site_id = "attic"' in capsys.readouterr().out
    bad = tmp_path / "bad.toml"
    bad.write_text("[limits]\nmin_soc_pct = 99\n")
    assert main(["--config", str(bad), "config", "check"]) == 1
    assert "min_soc_pct (99.0) must be below max_soc_pct (95.0)" in capsys.readouterr().err


def test_db_upgrade_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite+pysqlite:///{tmp_path / 'cli.db'}"
    assert main(["db", "upgrade", "--database-url", url]) == 0
    assert "revision" in capsys.readouterr().out
    assert main(["db", "current", "--database-url", url]) == 0
    assert capsys.readouterr().out.strip() != "(empty database)"
