"""``zsm config check``: print the effective configuration, or every error and exit non-zero."""

from __future__ import annotations

import argparse
import json
import sys
from typing import Any

from controller.settings import ConfigError, load_settings

__all__ = ["register"]


def register(subparsers: Any) -> None:
    parser = subparsers.add_parser("config", help="configuration tools")
    actions = parser.add_subparsers(dest="config_action", metavar="ACTION", required=True)
    check = actions.add_parser("check", help="validate the config and print the effective values")
    check.add_argument("--json", action="store_true", help="print JSON instead of TOML-like lines")
    check.set_defaults(func=_check)


def _flatten(prefix: str, value: Any, out: list[tuple[str, Any]]) -> None:
    if isinstance(value, dict):
        for key, item in value.items():
            _flatten(f"{prefix}.{key}" if prefix else key, item, out)
    else:
        out.append((prefix, value))


def _check(args: argparse.Namespace) -> int:
    try:
        settings = load_settings(args.config)
    except ConfigError as err:
        print(f"zsm: {err}", file=sys.stderr)
        return 1
    data = settings.model_dump(mode="json")
    if args.json:
        print(json.dumps(data, indent=2, sort_keys=True))
        return 0
    rows: list[tuple[str, Any]] = []
    _flatten("", data, rows)
    for key, value in rows:
        print(f"{key} = {json.dumps(value)}")
    print(f"# config digest {settings.digest()}", file=sys.stderr)
    return 0
