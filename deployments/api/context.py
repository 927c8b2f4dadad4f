"""Everything a replica's API needs, built once per replica by `create_api`."""

from __future__ import annotations

from dataclasses import dataclass

from redis.asyncio import Redis
from sqlalchemy.ext.asyncio import AsyncEngine, AsyncSession, async_sessionmaker

from cluster.db import create_engine, create_session_factory
from cluster.security import TokenSigner
from cluster.settings import Settings, resolve_jwt_secret
from deployments.api.principals import Authenticator


@dataclass
class ApiContext:
    settings: Settings
    engine: AsyncEngine
    sessions: async_sessionmaker[AsyncSession]
    signer: TokenSigner
    authenticator: Authenticator
    redis: Redis | None = None

    @classmethod
    def build(cls, settings: Settings) -> ApiContext:
        engine = create_engine(settings.resolved_database_url)
        sessions = create_session_factory(engine)
        signer = TokenSigner(resolve_jwt_secret(settings), settings.jwt_algorithm,
                             settings.access_token_ttl_s)
        return cls(
            settings=settings,
            engine=engine,
            sessions=sessions,
            signer=signer,
            authenticator=Authenticator(signer=signer, sessions=sessions,
                                        cache_ttl_s=settings.auth_cache_ttl_s),
            # from_url connects lazily, on first use.
            redis=Redis.from_url(settings.redis_url.get_secret_value(), socket_timeout=2.0,
                                 socket_connect_timeout=2.0)
            if settings.redis_url else None,
        )

    async def close(self) -> None:
        if self.redis is not None:
            await self.redis.aclose()
        await self.engine.dispose()
