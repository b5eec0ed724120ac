"""Liveness, readiness and metrics (no auth)."""

from __future__ import annotations

from typing import Any

import structlog
from fastapi import APIRouter, Response
from fastapi.responses import JSONResponse

from adapters.observability.metrics import render_latest
from entrypoints.rest.deps import ContainerDep

router = APIRouter(tags=["system"])
log = structlog.get_logger("mai.metrics")


@router.get("/health")
async def health() -> dict[str, str]:
    """Liveness: the process answers. Dependencies are /ready's business."""
    return {"status": "ok"}


@router.get("/ready")
async def ready(container: ContainerDep) -> JSONResponse:
    readiness = await container.check_readiness().execute()
    body: dict[str, Any] = {
        "status": readiness.status,
        "profile": container.settings().profile,
        "adapters": {
            a.name: {
                "ok": a.ok,
                "backend": a.backend,
                "required": a.required,
                "detail": a.detail,
                "latency_ms": None if a.latency_ms is None else round(a.latency_ms, 2),
            }
            for a in readiness.adapters
        },
    }
    return JSONResponse(body, status_code=200 if readiness.ready else 503)


async def refresh_eval_scores(container: ContainerDep) -> None:
    """Eval runs are recorded by `mai eval` in its own process: the gauge of the last score
    per dataset is read from the store at scrape time. A store that is down leaves the
    gauge as it was (metrics never fail for it)."""
    try:
        await container.eval_runs().refresh_metrics()
    except Exception as exc:
        log.warning("eval_scores_refresh_failed", error_type=type(exc).__name__)


@router.get("/metrics", include_in_schema=False)
async def metrics(container: ContainerDep) -> Response:
    await refresh_eval_scores(container)
    body, content_type = render_latest()
    return Response(body, media_type=content_type)
