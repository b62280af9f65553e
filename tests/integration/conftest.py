"""Shared fixtures for the integration tests: dummy AWS credentials, the stack built from
template.yaml's own resource properties, local AWS endpoints (moto server, LocalStack), the ingest
handler and a Lambda context.

Resources are created from the Properties in template.yaml (serverless-test-samples' mock_test.py
pattern), so these tests exercise the names, queue settings and notification filter that deploy.
"""

from __future__ import annotations

import copy
import importlib.util
import json
import os
import subprocess
import sys
import urllib.request
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from functools import cache
from pathlib import Path
from types import ModuleType
from typing import Any

import pytest

from retail_lake.local._stack import Stack, delete_stack
from retail_lake.local._stack import Template as _Template
from retail_lake.local._stack import create_stack as _create_stack

ROOT = Path(__file__).resolve().parents[2]
EVENTS = ROOT / "infra" / "events"
REGION = "us-east-1"
LOCALSTACK_URL = "http://127.0.0.1:4566"

# Variables the library or boto3 read; each test starts without them (and monkeypatch restores them).
_CLEARED_ENV = (
    "AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_SESSION_TOKEN", "AWS_SECURITY_TOKEN", "AWS_ENDPOINT_URL",
    "RETAIL_LAKE", "LAKE_BUCKET", "LAKE_PREFIX", "IDEMPOTENCY_TABLE", "IDEMPOTENCY_TTL_SECONDS",
    "AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "DUCKDB_MEMORY_LIMIT", "DUCKDB_THREADS", "S3_READS", "MIRROR_MAX_MB",
)


@pytest.fixture(autouse=True)
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """Dummy credentials and region, no profile or config file, Tracer off, a private TMPDIR."""
    for name in _CLEARED_ENV:
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "test")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "test")
    monkeypatch.setenv("AWS_DEFAULT_REGION", REGION)
    monkeypatch.setenv("AWS_REGION", REGION)
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-aws-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-aws-credentials"))
    monkeypatch.setenv("POWERTOOLS_TRACE_DISABLED", "true")
    tmp = tmp_path / "tmp"
    tmp.mkdir()
    monkeypatch.setenv("TMPDIR", str(tmp))


# ---------------------------------------------------------------- template.yaml

# The stack builder lives in the library (``retail-lake up`` creates the same stack on an endpoint);
# these wrappers keep the tests' spelling: ``Template(refs)`` and ``create_stack(prefix)`` on this checkout.


class Template(_Template):
    """template.yaml with a resolver for the intrinsics its data-plane resources use."""

    def __init__(self, refs: dict[str, Any]) -> None:
        super().__init__(ROOT / "template.yaml", refs)


def create_stack(name_prefix: str = "retail-lake", *, notifications: bool = True) -> Stack:
    """Create buckets, queues and the idempotency table from template.yaml on the current endpoint."""
    return _create_stack(name_prefix, template_path=ROOT / "template.yaml", notifications=notifications)


def use_stack(monkeypatch: pytest.MonkeyPatch, stack: Stack) -> None:
    """Point the library at the stack the way template.yaml's environment does."""
    monkeypatch.setenv("LAKE_BUCKET", stack.lake_bucket)
    monkeypatch.setenv("IDEMPOTENCY_TABLE", stack.table)


# ---------------------------------------------------------------- local endpoints


def _reachable(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2):
            return True
    except Exception:  # any failure means "not up"
        return False


@pytest.fixture(scope="session")
def moto_server_url() -> Iterator[str]:
    """moto's ThreadedMotoServer on a free loopback port, for the whole session."""
    from moto.server import ThreadedMotoServer

    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    try:
        yield f"http://{host}:{port}"
    finally:
        server.stop()


@contextmanager
def _localstack_users(shared: Path) -> Iterator[Callable[[int], tuple[int, bool]]]:
    """Under one lock shared by every pytest-xdist worker: ``count(delta)`` moves the number of
    sessions using LocalStack and returns it with whether a session of this run started it."""
    import fcntl

    shared.mkdir(parents=True, exist_ok=True)
    state = shared / "localstack-users.json"
    with open(shared / "localstack.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)

        def count(delta: int, started: bool | None = None) -> tuple[int, bool]:
            now = json.loads(state.read_text()) if state.exists() else {"users": 0, "started": False}
            now["users"] += delta
            if started is not None:
                now["started"] = started
            state.write_text(json.dumps(now))
            return now["users"], now["started"]

        yield count


@pytest.fixture(scope="session")
def localstack_url(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """LocalStack on 127.0.0.1:4566: reuse a running one, else start it with ../shared/localstack/start,
    and stop it after the last session that uses it, if this run started it (pytest-xdist workers
    are sessions of their own: one must not stop it under another); skip with the reason when it
    cannot be had."""
    health = f"{LOCALSTACK_URL}/_localstack/health"
    # The run's own temp folder: with pytest-xdist each worker has a folder in it, so its parent.
    shared = tmp_path_factory.getbasetemp()
    shared = shared.parent if os.environ.get("PYTEST_XDIST_WORKER") else shared
    with _localstack_users(shared) as count:
        if not _reachable(health):
            start = ROOT.parent / "shared" / "localstack" / "start"
            if not start.exists():
                pytest.skip(f"LocalStack is not running and {start} does not exist")
            try:
                proc = subprocess.run([str(start)], capture_output=True, text=True, timeout=600, check=False)
            except (OSError, subprocess.TimeoutExpired) as exc:
                pytest.skip(f"could not start LocalStack with {start}: {exc}")
            if proc.returncode != 0 or not _reachable(health):
                reason = (proc.stderr or proc.stdout).strip().splitlines()[-1:] or ["no output"]
                pytest.skip(f"LocalStack did not start ({start} exited {proc.returncode}): {reason[0]}")
            count(0, started=True)
        count(+1)
    try:
        yield LOCALSTACK_URL
    finally:
        with _localstack_users(shared) as count:
            users, started = count(-1)
            stop = ROOT.parent / "shared" / "localstack" / "stop"
            if users == 0 and started and stop.exists():
                subprocess.run([str(stop)], capture_output=True, timeout=60, check=False)
                count(0, started=False)


# ---------------------------------------------------------------- the handler


@dataclass
class FakeLambdaContext:
    """The attributes Powertools Logger and Idempotency read from a Lambda context."""

    function_name: str = "retail-lake-dev-ingest"
    memory_limit_in_mb: int = 1536
    invoked_function_arn: str = f"arn:aws:lambda:{REGION}:123456789012:function:retail-lake-dev-ingest"
    aws_request_id: str = ""
    log_group_name: str = "/aws/lambda/retail-lake-dev-ingest"
    log_stream_name: str = "local"

    def __post_init__(self) -> None:
        self.aws_request_id = self.aws_request_id or str(uuid.uuid4())

    def get_remaining_time_in_millis(self) -> int:
        return 600_000


@pytest.fixture
def lambda_context() -> FakeLambdaContext:
    return FakeLambdaContext()


@cache
def _load_handler_module() -> ModuleType:
    path = ROOT / "functions" / "ingest" / "app.py"
    spec = importlib.util.spec_from_file_location("retail_lake_ingest_app", path)
    assert spec and spec.loader
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module
    spec.loader.exec_module(module)
    return module


@pytest.fixture
def ingest_app() -> Iterator[ModuleType]:
    """functions/ingest/app.py, imported once; its runner forgets cached clients around each test."""
    module = _load_handler_module()
    module.runner.reset()
    yield module
    module.runner.reset()


@pytest.fixture
def load_event() -> Callable[[str], dict[str, Any]]:
    """A fresh copy of an infra/events JSON file (tests change only the fields they need)."""

    def load(name: str) -> dict[str, Any]:
        return copy.deepcopy(json.loads((EVENTS / name).read_text()))

    return load


def unique_prefix() -> str:
    """A NamePrefix that keeps runs apart on an endpoint that keeps state (LocalStack)."""
    return f"rl-{uuid.uuid4().hex[:8]}"



# ---------------------------------------------------------------- stacks


@pytest.fixture
def moto_stack(monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The stack inside moto's in-process mock (``mock_aws``), with the library's env pointed at it."""
    from moto import mock_aws

    # DuckDB's httpfs speaks HTTP itself and cannot reach an in-process mock: inside mock_aws the
    # lake is read through the mirror (boto3). The endpoint stacks below exercise httpfs.
    monkeypatch.setenv("S3_READS", "mirror")
    with mock_aws():
        stack = create_stack(notifications=False)
        use_stack(monkeypatch, stack)
        yield stack


@pytest.fixture(
    params=["moto_server", pytest.param("localstack", marks=pytest.mark.localstack)],
)
def endpoint_stack(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> Iterator[Stack]:
    """The stack on a real local endpoint reached over HTTP through ``AWS_ENDPOINT_URL``."""
    url = request.getfixturevalue("moto_server_url" if request.param == "moto_server" else "localstack_url")
    monkeypatch.setenv("AWS_ENDPOINT_URL", url)
    stack = create_stack(unique_prefix())
    use_stack(monkeypatch, stack)
    try:
        yield stack
    finally:
        delete_stack(stack)


@contextmanager
def emitted_metrics(ingest_app: ModuleType) -> Iterator[list[str]]:
    """The names of the metrics the ingest handler adds while the block runs (still emitted as usual)."""
    counted: list[str] = []
    metrics = ingest_app.runner.metrics
    original = metrics.add_metric

    def record(name: str, unit: Any, value: float, **kwargs: Any) -> None:
        counted.append(name)
        original(name=name, unit=unit, value=value, **kwargs)

    metrics.add_metric = record
    try:
        yield counted
    finally:
        metrics.add_metric = original
