"""Pure ASGI middleware of the API (cheap per request: no BaseHTTPMiddleware).

- ``StagePrefix``: behind API Gateway the public URL carries a stage (``/prod``) or a custom
  domain's base path that the app's routes do not. Mangum strips a configured base path; this sets
  ``root_path`` to the prefix the event shows, so /docs loads ``/prod/openapi.json``, OpenAPI lists
  ``/prod`` as its server and generated links keep the prefix (``path`` keeps it too, as the ASGI
  spec asks; Starlette routes on ``path`` minus ``root_path``).
- ``BodyLimit``: 413 for a request body over the limit, by Content-Length or while reading it.
"""

from __future__ import annotations

import json
from typing import Any

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send


def event_prefix(event: dict[str, Any], path: str) -> str:
    """The part of the client's URL path in front of the app's ``path`` (``/prod``), from the event."""
    context = event.get("requestContext") or {}
    if event.get("version") == "2.0":
        original = event.get("rawPath") or (context.get("http") or {}).get("path") or ""
        stage = context.get("stage") or "$default"
        if original != path and original.endswith(path):
            return original[: len(original) - len(path)].rstrip("/")
        if stage != "$default" and (path == f"/{stage}" or path.startswith(f"/{stage}/")):
            return f"/{stage}"  # Mangum was given no base path: the stage is still in the path
        return ""
    original = context.get("path") or ""  # REST API: /<stage>/<path> (or the custom domain's mapping)
    if original and original != path and original.endswith(path):
        return original[: len(original) - len(path)].rstrip("/")
    return ""


class StagePrefix:
    def __init__(self, app: ASGIApp, root_path: str = "") -> None:
        self.app = app
        self.root_path = root_path.rstrip("/")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            event = scope.get("aws.event")
            prefix = event_prefix(event, scope["path"]) if isinstance(event, dict) else self.root_path
            if prefix and not scope.get("root_path"):
                scope["root_path"] = prefix
                if not (scope["path"] == prefix or scope["path"].startswith(prefix + "/")):
                    scope["path"] = prefix + scope["path"]
                    if scope.get("raw_path"):
                        scope["raw_path"] = prefix.encode() + scope["raw_path"]
        await self.app(scope, receive, send)


class BodyLimit:
    def __init__(self, app: ASGIApp, max_bytes: int) -> None:
        self.app = app
        self.max_bytes = max_bytes

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        for name, value in scope.get("headers") or ():
            if name == b"content-length":
                try:
                    declared = int(value)
                except ValueError:
                    declared = 0
                if declared > self.max_bytes:
                    await self._reject(send)
                    return
        received = 0

        async def limited_receive() -> Message:
            # A body without Content-Length (chunked) is counted as it arrives; FastAPI re-raises an
            # HTTPException from reading the body, and the app's handler answers it.
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.max_bytes:
                    raise HTTPException(413, detail=self.message)
            return message

        await self.app(scope, limited_receive, send)

    @property
    def message(self) -> str:
        return f"request body over {self.max_bytes:,} bytes (the limit)"

    async def _reject(self, send: Send) -> None:
        message = self.message
        body = json.dumps({"detail": message, "message": message}).encode()
        await send({"type": "http.response.start", "status": 413,
                    "headers": [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode()),
                                (b"cache-control", b"no-store")]})
        await send({"type": "http.response.body", "body": body})
