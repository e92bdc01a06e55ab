"""The FastAPI application factory."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, cast

from fastapi import APIRouter, FastAPI, Request
from starlette.middleware.gzip import GZipMiddleware

from gridshare import __version__
from gridshare.config import Settings
from gridshare.runtime import Runtime, build_runtime
from gridshare.web.body_guard import BodyGuard
from gridshare.web.error_pages import error_page
from gridshare.web.errors import install_error_handlers
from gridshare.web.head_requests import HeadAsGet
from gridshare.web.openapi import install_openapi
from gridshare.web.security import SecurityHeaders

# Each module named here exposes `router: APIRouter` and may define
# `install(app: FastAPI, runtime: Runtime) -> None` for start-up work (background tasks).
# A module that does not exist yet is skipped, so features land independently.
# How long a stop (SIGTERM, Ctrl-C) waits for open requests before ending them: a resident's
# live-update stream would otherwise hold the server up to five minutes (live.py).
GRACEFUL_SHUTDOWN_S = 5

ROUTE_MODULES = (
    "gridshare.web.routes.health",
    "gridshare.web.routes.rpc",
    "gridshare.web.routes.market",
    "gridshare.web.routes.api",
    "gridshare.web.routes.live",
    "gridshare.web.routes.explorer",
    "gridshare.web.routes.pages",
)


class _RouteModule(Protocol):
    router: APIRouter


def create_app(settings: Settings, runtime: Runtime | None = None) -> FastAPI:
    """Build the app; the runtime (chain, market, services) is built at start-up unless given."""
    modules = []
    for name in ROUTE_MODULES:
        try:
            modules.append(cast(_RouteModule, importlib.import_module(name)))
        except ModuleNotFoundError as exc:
            if exc.name != name:
                raise

    @asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        owned = runtime is None
        if owned or getattr(app.state, "runtime", None) is not runtime:
            app.state.runtime = runtime if runtime is not None else build_runtime(settings)
            # background services start once per runtime, even if the app is started again
            # (as test clients do); they stop when the runtime closes
            for module in modules:
                install = getattr(module, "install", None)
                if install is not None:
                    install(app, app.state.runtime)
        try:
            yield
        finally:
            if owned:
                app.state.runtime.close()

    app = FastAPI(
        title="gridshare",
        version=__version__,
        description="Peer-to-peer energy trading for an off-grid solar microgrid.",
        lifespan=lifespan,
        docs_url=None,  # Swagger UI loads from a CDN: no internet in the village, and the CSP
        redoc_url=None,  # forbids it; the schema itself is at /openapi.json
    )
    app.state.settings = settings
    # pages and scripts gzipped for the village Wi-Fi (/market: 21 kB -> 4 kB); not the live
    # updates' event stream, which Starlette leaves alone
    app.add_middleware(GZipMiddleware, minimum_size=1000, compresslevel=6)
    app.add_middleware(BodyGuard)  # over-deep JSON would crash the JSON parser: refused first
    app.add_middleware(HeadAsGet)  # HEAD as GET without the body (FastAPI's routes: 405)
    app.add_middleware(SecurityHeaders)  # added last, so outermost: on the guard's answers too
    install_error_handlers(app, page=error_page)
    for module in modules:
        app.include_router(module.router)
    install_openapi(app)
    return app


def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the running server's runtime."""
    return cast(Runtime, request.app.state.runtime)
