"""The FastAPI application factory."""

from __future__ import annotations

import importlib
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Protocol, cast

from fastapi import APIRouter, FastAPI, Request

from gridshare import __version__
from gridshare.config import Settings
from gridshare.runtime import Runtime, build_runtime
from gridshare.web.errors import install_error_handlers

# Each module named here exposes `router: APIRouter` and may define
# `install(app: FastAPI, runtime: Runtime) -> None` for start-up work (background tasks).
# A module that does not exist yet is skipped, so features land independently.
ROUTE_MODULES = (
    "gridshare.web.routes.health",
    "gridshare.web.routes.rpc",
    "gridshare.web.routes.market",
    "gridshare.web.routes.api",
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
        app.state.runtime = runtime if runtime is not None else build_runtime(settings)
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
    )
    app.state.settings = settings
    install_error_handlers(app)
    for module in modules:
        app.include_router(module.router)
    return app


def get_runtime(request: Request) -> Runtime:
    """FastAPI dependency: the running server's runtime."""
    return cast(Runtime, request.app.state.runtime)
