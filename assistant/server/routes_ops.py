"""For the operator: liveness and Prometheus metrics. Neither needs a key: they carry counts and route
templates, never questions, answers, keys or conversation ids."""

from fastapi import APIRouter, Response

from assistant.server.deps import ServerDep
from assistant.server.metrics import CONTENT_TYPE

router = APIRouter()


@router.get("/healthz")
def healthz() -> dict:
    return {"status": "ok"}


@router.get("/metrics", response_class=Response)
def metrics(server: ServerDep) -> Response:
    return Response(server.metrics.render(), media_type=CONTENT_TYPE)
