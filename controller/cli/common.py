"""Helpers shared by the subcommands: loading settings with a clear error."""

from __future__ import annotations

import argparse
import sys

from controller.settings import ConfigError, Settings, load_settings

__all__ = ["settings_or_exit"]


def settings_or_exit(args: argparse.Namespace) -> Settings:
    """Load the settings of ``--config`` (or ``$ZSM_CONFIG``); print the errors and exit 2 if invalid."""
    try:
        return load_settings(getattr(args, "config", None))
    except ConfigError as err:
        print(f"zsm: {err}", file=sys.stderr)
        raise SystemExit(2) from err
