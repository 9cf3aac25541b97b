"""What every request handler needs: engine, config, clock and rate limiters (one per app)."""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import Engine

from controller.clock import Clock
from storage.server.cache import TTLCache
from storage.server.config import ServerConfig
from storage.server.ratelimit import RateLimiter
from storage.server.services.fetches import ScheduleFetches
from storage.server.services.schedules import ScheduleDoc
from storage.server.services.sites import SiteRef

__all__ = ["ServerContext"]


@dataclass
class ServerContext:
    """Shared state of one app instance."""

    engine: Engine
    config: ServerConfig
    clock: Clock
    ingest_limiter: RateLimiter = field(init=False)
    api_limiter: RateLimiter = field(init=False)
    # token hash -> site (tokens cannot be changed, only added; a revocation takes effect within the TTL)
    token_cache: TTLCache[str, SiteRef] = field(init=False)
    # site id -> (current schedule, its JSON bytes); dropped on every write in this process, and short-lived
    # so that several server processes agree within a second
    schedule_cache: TTLCache[int, tuple[ScheduleDoc, bytes]] = field(init=False)
    # site id -> the daemon's last schedule fetch (when it will pick up an edit)
    schedule_fetches: ScheduleFetches = field(init=False)

    def __post_init__(self) -> None:
        self.ingest_limiter = RateLimiter(self.clock, self.config.ingest_rate_per_s, self.config.ingest_burst)
        self.api_limiter = RateLimiter(self.clock, self.config.api_rate_per_s, self.config.api_burst)
        self.token_cache = TTLCache(self.clock, ttl_s=60.0)
        self.schedule_cache = TTLCache(self.clock, ttl_s=1.0)
        self.schedule_fetches = ScheduleFetches()
