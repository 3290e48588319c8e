"""The HTTP server (FastAPI): `assistant serve`."""

from assistant.server.app import create_app

__all__ = ["create_app"]
