"""The API (and its dashboard) on localhost: uvicorn in a thread of the platform, stoppable."""

from __future__ import annotations

import socket
import threading
import time
from typing import Any

__all__ = ["ApiServer", "PortInUseError"]


class PortInUseError(OSError):
    """The port cannot be bound (another server has it)."""


class ApiServer:
    """uvicorn serving an ASGI app on a socket bound up front, so a taken port is a clear error
    before anything else starts, and port 0 picks a free one (tests)."""

    def __init__(self, app: Any, host: str = "127.0.0.1", port: int = 8000, *, verbose: bool = False) -> None:
        self.app = app
        self.host = host
        self.requested_port = port
        self.verbose = verbose
        self.port = port
        self._socket: socket.socket | None = None
        self._server: Any = None
        self._thread: threading.Thread | None = None
        self.error: BaseException | None = None

    def bind(self) -> None:
        family = socket.AF_INET6 if ":" in self.host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            sock.bind((self.host, self.requested_port))
        except OSError as exc:
            sock.close()
            raise PortInUseError(f"cannot listen on {self.host}:{self.requested_port} ({exc.strerror or exc}): "
                                 "another server uses it; pass --port") from exc
        sock.listen(128)
        sock.set_inheritable(True)
        self._socket = sock
        self.port = sock.getsockname()[1]

    @property
    def base_url(self) -> str:
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    def start(self, timeout: float = 15.0) -> None:
        import uvicorn

        if self._socket is None:
            self.bind()
        config = uvicorn.Config(self.app, log_level="info" if self.verbose else "warning",
                                access_log=self.verbose, lifespan="auto")
        self._server = uvicorn.Server(config)
        sockets = [self._socket]

        def serve() -> None:
            try:
                self._server.run(sockets=sockets)
            except BaseException as exc:  # SystemExit from a failed startup included
                self.error = exc

        self._thread = threading.Thread(target=serve, name="retail-lake-api", daemon=True)
        self._thread.start()
        deadline = time.monotonic() + timeout
        while not self._server.started and self._thread.is_alive() and time.monotonic() < deadline:
            time.sleep(0.02)
        if not self._server.started:
            self.stop()
            reason = f": {self.error}" if self.error else ""
            raise RuntimeError(f"the API did not start on {self.base_url}{reason}")

    @property
    def running(self) -> bool:
        return self._thread is not None and self._thread.is_alive()

    def stop(self, timeout: float = 10.0) -> None:
        if self._server is not None:
            self._server.should_exit = True
        if self._thread is not None:
            self._thread.join(timeout)
        if self._socket is not None:
            self._socket.close()
            self._socket = None
