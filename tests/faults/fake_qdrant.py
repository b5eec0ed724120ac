"""A Qdrant server stand-in for the fault tests (no Qdrant server installs here): the REST
calls `adapters/qdrant/server_index.py` makes, answered by qdrant-client's local mode on a
directory, so the data outlives a kill. Run as a process of its own, so a test can kill it
like a crashed Qdrant and start it again: `python -m tests.faults.fake_qdrant PORT DIR`.
"""

from __future__ import annotations

import sys
import warnings
from typing import Any

import uvicorn
from pydantic import BaseModel, TypeAdapter
from qdrant_client import QdrantClient, models
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import Route

warnings.filterwarnings("ignore", "Payload indexes have no effect", UserWarning)
SELECTOR: TypeAdapter[Any] = TypeAdapter(models.PointsSelector)


def ok(result: Any) -> Response:
    if isinstance(result, BaseModel):
        result = result.model_dump(mode="json", exclude_none=True)
    return JSONResponse({"result": result, "status": "ok", "time": 0.0})


def completed() -> Response:
    return ok({"operation_id": 0, "status": "completed"})


def build(path: str) -> Starlette:
    local = QdrantClient(path=path)

    def name(request: Request) -> str:
        return str(request.path_params["collection"])

    async def root(_request: Request) -> Response:
        return JSONResponse({"title": "qdrant (fake)", "version": "1.20.0"})

    async def exists(request: Request) -> Response:
        return ok({"exists": local.collection_exists(name(request))})

    async def collection(request: Request) -> Response:
        if request.method == "PUT":
            body = models.CreateCollection.model_validate(await request.json())
            local.create_collection(name(request), vectors_config=body.vectors)
            return ok(True)
        if not local.collection_exists(name(request)):
            error = {"error": f"Not found: Collection `{name(request)}` doesn't exist!"}
            return JSONResponse({"status": error, "time": 0.0}, status_code=404)
        return ok(local.get_collection(name(request)))

    async def index(request: Request) -> Response:
        body = models.CreateFieldIndex.model_validate(await request.json())
        local.create_payload_index(name(request), body.field_name, field_schema=body.field_schema)
        return completed()

    async def upsert(request: Request) -> Response:
        body = models.PointsList.model_validate(await request.json())
        local.upsert(name(request), points=body.points)
        return completed()

    async def query(request: Request) -> Response:
        body = models.QueryRequest.model_validate(await request.json())
        found = local.query_points(
            name(request),
            query=body.query,
            query_filter=body.filter,
            limit=body.limit or 10,
            with_payload=body.with_payload or False,
        )
        return ok(found)

    async def count(request: Request) -> Response:
        body = models.CountRequest.model_validate(await request.json())
        return ok(local.count(name(request), count_filter=body.filter, exact=True))

    async def delete(request: Request) -> Response:
        local.delete(name(request), points_selector=SELECTOR.validate_python(await request.json()))
        return completed()

    c = "/collections/{collection}"
    return Starlette(
        routes=[
            Route("/", root),
            Route(f"{c}/exists", exists),
            Route(c, collection, methods=["GET", "PUT"]),
            Route(f"{c}/index", index, methods=["PUT"]),
            Route(f"{c}/points", upsert, methods=["PUT"]),
            Route(f"{c}/points/query", query, methods=["POST"]),
            Route(f"{c}/points/count", count, methods=["POST"]),
            Route(f"{c}/points/delete", delete, methods=["POST"]),
        ]
    )


if __name__ == "__main__":
    uvicorn.run(build(sys.argv[2]), host="127.0.0.1", port=int(sys.argv[1]), log_level="warning")
