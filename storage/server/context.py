"""What every request handler needs: engine, config, clock and rate limiters (one per app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from controller.clock import Clock
from storage.server.config import ServerConfig
from storage.server.ratelimit import RateLimiter

__all__ = ["ServerContext"]


@dataclass
class ServerContext:
    """Shared state of one app instance."""

    engine: Engine
    config: ServerConfig
    clock: Clock
    ingest_limiter: RateLimiter = field(init=False)
    api_limiter: RateLimiter = field(init=False)

    def __post_init__(self) -> None:
        self.ingest_limiter = RateLimiter(self.clock, self.config.ingest_rate_per_s, self.config.ingest_burst)
        self.api_limiter = RateLimiter(self.clock, self.config.api_rate_per_s, self.config.api_burst)
