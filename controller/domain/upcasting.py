"""Upcasting: turn payloads written by older versions into the current shape, on read.

Rows are never rewritten. When an event model changes shape, bump its ``schema_version`` and register a
function that lifts a payload from the old version to the next one; :func:`upcast` chains them.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

__all__ = ["Payload", "Upcaster", "register_upcaster", "upcast"]

Payload = dict[str, Any]
Upcaster = Callable[[Payload], Payload]

_UPCASTERS: dict[tuple[str, int], Upcaster] = {}


def register_upcaster(kind: str, from_version: int) -> Callable[[Upcaster], Upcaster]:
    """Decorator: ``fn`` lifts a ``kind`` payload from ``from_version`` to ``from_version + 1``."""

    def decorate(fn: Upcaster) -> Upcaster:
        _UPCASTERS[(kind, from_version)] = fn
        return fn

    return decorate


def upcast(kind: str, version: int, target_version: int, payload: Payload) -> Payload:
    """Lift ``payload`` of ``kind`` from ``version`` to ``target_version`` through registered steps."""
    while version < target_version:
        step = _UPCASTERS.get((kind, version))
        if step is None:
            raise LookupError(f"no upcaster for {kind} v{version} -> v{version + 1}")
        payload = step(payload)
        version += 1
    return payload
