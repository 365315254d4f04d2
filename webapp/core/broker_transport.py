"""kombu's Redis transport with one client object per channel for its commands.

kombu's Redis channel makes a new `redis.Redis` for every publish, every acknowledgement and every message
it reserves, and building one copies its ~160 response callbacks into a dict: 22 % of `apply_async`'s CPU
(cProfile, 1,000 publishes) and 14 % of the prediction worker's consumer process (py-spy, 32 clients).
A client object holds no connection of its own (they come from the channel's pool), so one per channel
and pool serves every command. Celery uses it through the `inkwell-redis` scheme that
`webapp.core.embedded_redis.broker_url` writes.
"""

from __future__ import annotations

from typing import Any

from kombu.transport import TRANSPORT_ALIASES
from kombu.transport import redis as kombu_redis

SCHEME = "inkwell-redis"


class Channel(kombu_redis.Channel):
    """A Redis channel that reuses its command client while its connection pool lives."""

    _command_client: Any = None

    def _create_client(self, asynchronous: bool = False) -> Any:
        if asynchronous:
            return super()._create_client(asynchronous=True)
        pool = self.pool  # a new pool after the connection was lost: a new client for it
        if self._command_client is None or self._command_client.connection_pool is not pool:
            self._command_client = self.Client(connection_pool=pool)
        return self._command_client


class Transport(kombu_redis.Transport):
    Channel = Channel


def transport_register() -> None:
    """Let kombu resolve `inkwell-redis://` (and `inkwell-redis+socket://`) URLs to this transport."""
    TRANSPORT_ALIASES.setdefault(SCHEME, f"{__name__}:Transport")
