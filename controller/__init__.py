"""zsm controller: everything that runs on the Raspberry Pi next to the battery."""

from __future__ import annotations

__all__ = ["__version__"]

__version__ = "0.1.0"
