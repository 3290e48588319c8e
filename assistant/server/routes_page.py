"""The chat page and its static files."""

from pathlib import Path

from fastapi import APIRouter
from fastapi.responses import FileResponse
from fastapi.staticfiles import StaticFiles

STATIC = Path(__file__).parent / "static"
router = APIRouter()


@router.get("/", include_in_schema=False)
def page() -> FileResponse:
    return FileResponse(STATIC / "index.html")


def static_files() -> StaticFiles:
    """Mounted at /static by the app (a router cannot carry a mount)."""
    return StaticFiles(directory=STATIC, check_dir=False)
