"""The instance's front door (where the API and its document are), and liveness and readiness for load
balancers and Kubernetes probes."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, MediaType, Request, get
from litestar.openapi import ResponseSpec
from litestar.response import Redirect
from litestar.status_codes import HTTP_200_OK, HTTP_303_SEE_OTHER, HTTP_308_PERMANENT_REDIRECT
from sqlalchemy import text
from sqlalchemy.pool import Pool, QueuePool

from app.lib.asgi import ANY_QUERY, VARIES_ON_ACCEPT
from app.lib.database import alchemy_config
from app.lib.errors import ErrorCode, FieldError, LanternError
from app.lib.i18n import gettext as _
from app.lib.openapi import PUBLIC, may_answer
from app.lib.redis import get_redis, redis_health
from app.lib.schema import CamelStruct, Envelope, ok, operation_id
from app.lib.web_addresses import public_address

OPENAPI_DOCUMENT = "/schema/openapi.json"


class Readiness(CamelStruct):
    database: bool
    redis: bool


API_ROOT = "/api/v1"


class EntryPoints(CamelStruct):
    name: str
    api: str
    openapi: str
    login: str
    health: str


def _entry_points() -> EntryPoints:
    """Whole addresses, as every link Lantern gives."""
    return EntryPoints(
        name="Lantern",
        api=public_address(API_ROOT),
        openapi=public_address(OPENAPI_DOCUMENT),
        login=f"POST {public_address('/api/v1/auth/login')}",
        health=public_address("/health/ready"),
    )


async def browsers_to_ui(request: Request[Any, Any, Any]) -> Redirect | None:
    """A browser (HTML preferred over JSON) at the front door goes to the admin UI; API clients get JSON."""
    request.scope["state"][VARIES_ON_ACCEPT] = True
    preferred = request.accept.best_match([MediaType.JSON, MediaType.HTML], default=MediaType.JSON)
    return Redirect("/ui/", status_code=HTTP_303_SEE_OTHER) if preferred == MediaType.HTML else None


class IndexController(Controller):
    tags = ["Health"]

    # This hook stands in for the app's content-type check, which a GET without a body never needed.
    @get(
        "/",
        operation_id="Index",
        status_code=HTTP_200_OK,
        security=PUBLIC,
        before_request=browsers_to_ui,
        responses={HTTP_303_SEE_OTHER: ResponseSpec(None, description="A browser (HTML preferred): to `/ui/`.")},
    )
    async def index(self) -> Envelope[EntryPoints]:
        """Where to go from the address `make run` prints, for API clients (browsers go to the admin UI)."""
        return ok(_entry_points())

    @get(API_ROOT, operation_id="ApiIndex", status_code=HTTP_200_OK, security=PUBLIC)
    async def api_index(self) -> Envelope[EntryPoints]:
        """The same, at the address of the API that `GET /` names."""
        return ok(_entry_points())

    @get("/openapi.json", include_in_schema=False, security=PUBLIC)
    async def document(self) -> Redirect:
        """The document where tools made for FastAPI services, BugSpark's among them, look for it first."""
        return Redirect(OPENAPI_DOCUMENT, status_code=HTTP_308_PERMANENT_REDIRECT)


class HealthController(Controller):
    tags = ["Health"]

    @get(
        ["/health", "/api/v1/health"],
        operation_id=operation_id("Health"),
        status_code=HTTP_200_OK,
        security=PUBLIC,
        opt={ANY_QUERY: True},
    )
    async def live(self) -> Envelope[str]:
        return ok("ok")

    @get(
        ["/health/ready", "/api/v1/health/ready"],
        operation_id=operation_id("Ready"),
        status_code=HTTP_200_OK,
        security=PUBLIC,
        responses=may_answer(ErrorCode.SERVICE_UNAVAILABLE),
        opt={ANY_QUERY: True},
    )
    async def ready(self) -> Envelope[Readiness]:
        database, redis = await asyncio.gather(_database_problem(), _redis_problem())
        found = {"database": database, "redis": redis}
        problems = [FieldError(field, problem) for field, problem in found.items() if problem is not None]
        if problems:
            raise LanternError(ErrorCode.SERVICE_UNAVAILABLE, details=problems)
        return ok(Readiness(database=True, redis=True))


# How long a probe waits for each dependency (both at once): a probe is answered within a couple of seconds,
# where a full connection pool held it for the pool's 30 s timeout and a hung Redis for its socket's 5 s.
READINESS_WAIT_SECONDS = 2.0

_READY_KEY = "lantern:ready"
_READY_KEY_MS = 60_000


async def _database_problem() -> str | None:
    """Why the database serves no request now (None: it answers), from a connection of the pool requests use:
    every one of them in use for the whole wait is a busy database, which the requests are waiting for too."""
    engine = alchemy_config().get_engine()
    try:
        async with asyncio.timeout(READINESS_WAIT_SECONDS), engine.connect() as connection:
            await connection.execute(text("SELECT 1"))
    except TimeoutError:
        if _every_connection_in_use(engine.pool):
            return _("The database is busy: every connection of this server to it is in use.")
        return _("The database cannot be reached.")
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        return _("The database cannot be reached.")
    return None


def _every_connection_in_use(pool: Pool) -> bool:
    # The pool has no overflow (app/lib/database.py): its size is the most connections it ever holds.
    return isinstance(pool, QueuePool) and pool.checkedout() >= pool.size()


async def _redis_problem() -> str | None:
    """Why Redis serves no request now (None: it takes a write, as every use of it does: a Redis that answers
    PING but refuses writes, its disk full, served nothing). Unavailable at once while Redis is known to be down
    (`RedisHealth`): each probe used to wait out a hung Redis's timeout of its own."""
    health = redis_health()
    if not health.available:
        return _("Redis cannot be reached, or refuses writes.")
    try:
        async with asyncio.timeout(READINESS_WAIT_SECONDS):
            await get_redis().set(_READY_KEY, 1, px=_READY_KEY_MS)
    except TimeoutError:
        health.failed()
        return _("Redis did not answer in time.")
    except Exception:  # noqa: BLE001 - any failure means "not ready"
        health.failed()
        return _("Redis cannot be reached, or refuses writes.")
    health.answered()
    return None
