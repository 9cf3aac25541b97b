"""Reading a price file saved from any source (for ``zsm plan --prices FILE`` and backtests).

The format is named or recognised from the content: ENTSO-E XML (``<``), EnergyZero JSON (has ``base``),
aWATTar JSON (has ``data``), generic JSON (a list or ``prices``), else CSV.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Literal

from controller.prices import awattar, energyzero, entsoe, generic
from controller.prices.model import MarketPrice, PriceParseError

__all__ = ["MAX_FILE_BYTES", "FileFormat", "parse_prices", "read_price_file"]

MAX_FILE_BYTES = 5_000_000
FileFormat = Literal["auto", "energyzero", "awattar", "entsoe", "json", "csv"]


def _sniff(body: bytes) -> FileFormat:
    head = body.lstrip()[:1]
    if head == b"<":
        return "entsoe"
    if head in (b"{", b"["):
        try:
            document = json.loads(body)
        except ValueError:
            return "json"
        if isinstance(document, dict) and "base" in document:
            return "energyzero"
        if isinstance(document, dict) and "data" in document:
            return "awattar"
        return "json"
    return "csv"


def parse_prices(
    body: bytes, fmt: FileFormat = "auto", unit: generic.Unit = "eur_per_kwh"
) -> list[MarketPrice]:
    """Market prices in ``body`` of format ``fmt`` (``auto``: recognised from the content)."""
    kind = _sniff(body) if fmt == "auto" else fmt
    match kind:
        case "entsoe":
            return entsoe.parse(body)
        case "energyzero":
            return energyzero.parse(body)
        case "awattar":
            return awattar.parse(body)
        case "json":
            return generic.parse_json(body, unit)
        case _:
            return generic.parse_csv(body, unit)


def read_price_file(
    path: Path, fmt: FileFormat = "auto", unit: generic.Unit = "eur_per_kwh"
) -> list[MarketPrice]:
    """Market prices from a file (at most :data:`MAX_FILE_BYTES`)."""
    if path.stat().st_size > MAX_FILE_BYTES:
        raise PriceParseError(f"{path}: larger than {MAX_FILE_BYTES} bytes")
    return parse_prices(path.read_bytes(), fmt, unit)
