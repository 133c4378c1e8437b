"""`helicopter serve`: the HTTP lookup (FastAPI). GET /v1/limits/{entity_id} with an API key; /health is open."""

from __future__ import annotations

import contextlib
import datetime as dt
from typing import Annotated

from fastapi import Depends, FastAPI, HTTPException, Path, Security
from fastapi.security import APIKeyHeader

from jobs.errors import ServingError, SettingsError, UnknownEntity
from jobs.serve import store
from jobs.settings import Settings

API_KEY_HEADER = "X-API-Key"
ENTITY_ID = r"^[A-Za-z0-9_-]{1,64}$"  # the contract's entity ids; anything else is refused before any query


def create_app(settings: Settings) -> FastAPI:
    if not settings.serving_api_keys:
        raise SettingsError("SERVING_API_KEYS is not set: give at least one API key (comma-separated) to serve")
    eng = store.engine(settings.serving_url)
    reader = store.Reader(eng)

    @contextlib.asynccontextmanager
    async def lifespan(_: FastAPI):
        yield
        eng.dispose()  # close the pool's connections when the server stops

    app = FastAPI(
        title="Helicopter limits",
        version="1",
        description="Pre-approved credit limits, published nightly.",
        lifespan=lifespan,
    )
    header = APIKeyHeader(name=API_KEY_HEADER, auto_error=False)

    async def api_key(key: str | None = Security(header)) -> str:
        if key not in settings.serving_api_keys:
            raise HTTPException(status_code=401, detail=f"missing or unknown {API_KEY_HEADER}")
        return key

    @app.get("/v1/limits/{entity_id}", dependencies=[Depends(api_key)])
    async def get_limit(entity_id: Annotated[str, Path(pattern=ENTITY_ID, description="the entity's id")]) -> dict:
        # one indexed read of a few microseconds: done on the event loop, cheaper than a hop to a worker thread
        try:
            return reader.get(entity_id)
        except UnknownEntity as e:
            raise HTTPException(status_code=404, detail=str(e)) from None
        except ServingError as e:
            raise HTTPException(status_code=503, detail=str(e)) from None

    @app.get("/health")
    def health() -> dict:
        try:
            published = store.current(eng)
        except ServingError as e:
            raise HTTPException(status_code=503, detail=str(e)) from None
        age = (dt.date.today() - dt.date.fromisoformat(published.as_of_date)).days
        return {
            "status": "ok",
            "as_of_date": published.as_of_date,
            "age_days": age,
            "rows": published.rows,
            "model_version": published.model_version,
            "published_at": published.published_at,
        }

    return app
