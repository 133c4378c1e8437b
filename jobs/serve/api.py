"""`helicopter serve`: the HTTP lookup and applications (FastAPI); /health is open.

- GET /v1/limits/{entity_id}: the published limit.
- POST /v1/applications: a business hands over documents (multipart: `entity_id`, then `declared_type` and
  `document` once per document) and gets its new limit at once (`jobs.serve.application`).

Keys come from SERVING_API_KEYS: `KEY` is a system's (it looks up any business), `KEY@ENTITY_ID` a business's own
(it looks up and applies for that business alone)."""

from __future__ import annotations

import contextlib
import datetime as dt
import tempfile
from pathlib import Path as FilePath
from typing import Annotated

from fastapi import Depends, FastAPI, File, Form, HTTPException, Path, Security, UploadFile
from fastapi.concurrency import run_in_threadpool
from fastapi.security import APIKeyHeader

from jobs.errors import HelicopterError, ServingError, SettingsError, UnknownEntity
from jobs.serve import application, store
from jobs.serve.application import ENTITY_ID
from jobs.settings import Settings

API_KEY_HEADER = "X-API-Key"
UPLOAD_CHUNK = 1 << 20


def key_scopes(keys: tuple[str, ...]) -> dict[str, str | None]:
    """API key -> the one business it speaks for (`KEY@ENTITY_ID`), or None for a system's key."""
    return {key.partition("@")[0]: key.partition("@")[2] or None for key in keys}


def create_app(settings: Settings) -> FastAPI:
    if not settings.serving_api_keys:
        raise SettingsError("SERVING_API_KEYS is not set: give at least one API key (comma-separated) to serve")
    eng = store.engine(settings.serving_url)
    reader = store.Reader(eng)
    scopes = key_scopes(settings.serving_api_keys)

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
        if key not in scopes:
            raise HTTPException(status_code=401, detail=f"missing or unknown {API_KEY_HEADER}")
        return key

    def speaks_for(key: str, entity_id: str, own_only: bool) -> None:
        scope = scopes[key]
        if (scope is None and own_only) or scope not in (None, entity_id):
            raise HTTPException(status_code=403, detail=f"this key may not act for {entity_id}")

    @app.get("/v1/limits/{entity_id}")
    async def get_limit(
        entity_id: Annotated[str, Path(pattern=ENTITY_ID, description="the entity's id")],
        key: str = Depends(api_key),
    ) -> dict:
        speaks_for(key, entity_id, own_only=False)
        # one indexed read of a few microseconds: done on the event loop, cheaper than a hop to a worker thread
        try:
            return reader.get(entity_id)
        except UnknownEntity as e:
            raise HTTPException(status_code=404, detail=str(e)) from None
        except ServingError as e:
            raise HTTPException(status_code=503, detail=str(e)) from None

    @app.post("/v1/applications")
    async def post_application(
        entity_id: Annotated[str, Form(pattern=ENTITY_ID)],
        declared_type: Annotated[list[str], Form(description="each document's type, in the documents' order")],
        document: Annotated[list[UploadFile], File(description="PDFs or photos (JPEG, PNG)")],
        key: str = Depends(api_key),
    ) -> dict:
        speaks_for(key, entity_id, own_only=True)
        if len(declared_type) != len(document):
            raise HTTPException(status_code=422, detail="give one declared_type per document")
        with tempfile.TemporaryDirectory() as folder:
            documents = [
                application.Document(await received(upload, FilePath(folder) / f"{i}", settings), kind)
                for i, (upload, kind) in enumerate(zip(document, declared_type, strict=True))
            ]
            try:  # reading and OCR take seconds: in a worker thread, so lookups go on meanwhile
                return await run_in_threadpool(application.apply, settings, entity_id, documents)
            except application.ApplicationError as e:
                raise HTTPException(status_code=409, detail=str(e)) from None
            except HelicopterError as e:
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


async def received(upload: UploadFile, stem: FilePath, settings: Settings) -> FilePath:
    """An uploaded document saved as `<stem><its suffix>`, read in chunks and refused (413) past the size limit."""
    suffix = FilePath(upload.filename or "").suffix.lower()[:8]
    path, size = stem.with_suffix(suffix), 0
    with path.open("wb") as out:
        while chunk := await upload.read(UPLOAD_CHUNK):
            size += len(chunk)
            if size > settings.application_max_file_bytes:
                raise HTTPException(status_code=413, detail=f"{upload.filename}: larger than APPLICATION_MAX_FILE_MB")
            out.write(chunk)
    return path
