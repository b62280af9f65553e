"""``retail-lake up``: the whole platform on a laptop, with the functions' own handlers.

    drop folder --(settled files)--> upload bucket --(ObjectCreated)--> ingest queue
        --(SQS event, batches)--> ingest function --> lake
    ingests settle (debounce) / <drop>/.refresh / 'r' + Enter --(EventBridge schedule event)--> analytics handler
    functions/api/app.py:app --> uvicorn on 127.0.0.1:<port> (/dashboard, /docs)

Two modes, chosen by ``AWS_ENDPOINT_URL``:

- **endpoint** (moto's server, LocalStack): template.yaml's upload bucket, its S3 -> SQS
  notification, the queue with its DLQ and the idempotency table are created on the endpoint;
  dropped files are uploaded; the endpoint's S3 announces them; a poller hands the received
  messages to ``functions/ingest/app.py``'s ``lambda_handler``, deletes the successes and lets the
  ``batchItemFailures`` come back (dead-lettered after the queue's maxReceiveCount).
- **local** (no endpoint): the drop folder is the bucket and an in-process queue with SQS's
  delivery rules carries the same notification. The ingest handler reads its object only through
  S3 (``ingest_s3_object``), so here the function is ``LocalIngestFunction``: it takes the same SQS
  event, decodes it with the handler's own decoder and calls the ingest library on the local file
  (``ingest_file``: content-hash idempotency, as DESIGN fixes for local files). docs/DECISIONS.md
  says why, and what would let the handler itself read a local bucket.

Analytics always goes through ``functions/analytics/app.py``'s handler, and the API is the real app.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import sys
import threading
import time
import warnings
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from types import ModuleType
from typing import Any
from urllib.parse import unquote_plus

from retail_lake.local._buckets import EndpointBucket, LocalBucket, StoredObject
from retail_lake.local._events import (
    LocalLambdaContext,
    eventbridge_schedule_event,
    json_body,
    s3_put_notification,
)
from retail_lake.local._poller import Batch, LocalQueue, QueuePoller, SqsQueue
from retail_lake.local._repo import find_repo_root, handler_path, load_handler_module
from retail_lake.local._schedule import AnalyticsSchedule
from retail_lake.local._serve import ApiServer
from retail_lake.local._stack import DEFAULT_ACCOUNT, DEFAULT_REGION, Stack, create_stack, stack_template
from retail_lake.local._watch import REFRESH_TRIGGER, DroppedFile, DropWatcher, key_for

__all__ = ["LocalIngestFunction", "Platform", "PlatformError", "PlatformOptions", "run_platform"]

Say = Callable[[str], None]


class PlatformError(RuntimeError):
    """The platform cannot start; the message says why and what to do (one line)."""


def stderr_say(message: str) -> None:
    print(f"[{datetime.now().strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


@dataclass
class PlatformOptions:
    """Everything ``retail-lake up`` can be told. Times are in seconds."""

    lake: str = "./lake"
    drop: Path = Path("./drop")
    host: str = "127.0.0.1"
    port: int = 8000
    debounce_seconds: float = 3.0  # quiet time after the last ingest before analytics re-runs
    settle_seconds: float = 1.0  # a file is read once its size/mtime were stable this long
    poll_seconds: float = 0.5  # drop folder scan interval
    retry_delay_seconds: float = 5.0  # a failed message reappears after this x its receive count
    serve_api: bool = True
    analytics: bool = True
    initial_files: tuple[Path, ...] = ()  # uploaded first, as if dropped (the demo's sample)
    api_app: Any = None  # an ASGI app to serve instead of functions/api/app.py's ``app``
    endpoint_url: str | None = None  # default: $AWS_ENDPOINT_URL
    name_prefix: str = "retail-lake"  # template.yaml parameters of the local stack
    stage: str = "dev"
    interactive: bool = False  # read 'r' / 'q' + Enter from a terminal's stdin
    verbose: bool = False  # the handlers' JSON logs (stdout) and uvicorn's access log
    repo: Path | None = None
    say: Say = stderr_say
    extra_env: dict[str, str] = field(default_factory=dict)


# ---------------------------------------------------------------- the function in local mode


class LocalIngestFunction:
    """Where the ingest Lambda stands when the upload bucket is the drop folder.

    Same contract as ``functions/ingest/app.py`` behind an SQS event source: one SQS event in,
    ``{"batchItemFailures": [...]}`` out, a record fails only when a retry may help (storage
    trouble); a file that cannot be used is recorded as rejected and its record succeeds.
    """

    def __init__(self, bucket: LocalBucket, lake: str) -> None:
        self.bucket = bucket
        self.lake = lake
        self.outcomes: dict[str, list[tuple[str, Any]]] = {}  # messageId -> [(key, IngestResult)]
        self.errors: dict[str, BaseException] = {}

    def __call__(self, event: dict[str, Any], context: Any) -> dict[str, Any]:
        # The ingest library, as the handler's runner calls it (see the module docstring).
        from retail_lake.ingest import ingest_file, is_stores_key
        from retail_lake.ingest._lambda import s3_objects_from_sqs_body

        self.outcomes, self.errors = {}, {}
        failures = []
        for record in event.get("Records") or []:
            message_id = record["messageId"]
            try:
                done = []
                for obj in s3_objects_from_sqs_body(record["body"]):
                    path = self.bucket.path_for(obj.bucket, obj.key)
                    kind = "stores" if is_stores_key(obj.key) else "sales"
                    done.append((obj.key, ingest_file(path, self.lake, uploaded_at=obj.event_time, kind=kind)))
                self.outcomes[message_id] = done
            except Exception as exc:
                self.errors[message_id] = exc
                failures.append({"itemIdentifier": message_id})
        return {"batchItemFailures": failures}


# ---------------------------------------------------------------- environment


class _Environment:
    """The function configuration the handlers read (``$RETAIL_LAKE``, ...), set for the run and
    put back afterwards."""

    def __init__(self) -> None:
        self._saved: dict[str, str | None] = {}

    def set(self, name: str, value: str) -> None:
        self._saved.setdefault(name, os.environ.get(name))
        os.environ[name] = value

    def default(self, name: str, value: str) -> None:
        if not os.environ.get(name):
            self.set(name, value)

    def restore(self) -> None:
        for name, value in self._saved.items():
            if value is None:
                os.environ.pop(name, None)
            else:
                os.environ[name] = value
        self._saved.clear()


def _first_line(exc: BaseException) -> str:
    text = str(exc).strip()
    return f"{type(exc).__name__}: {text.splitlines()[0]}" if text else type(exc).__name__


def _count(n: int, word: str) -> str:
    return f"{n:,} {word}{'' if n == 1 else 's'}"


# ---------------------------------------------------------------- the platform


class Platform:
    """The running platform: start() brings every part up, stop() takes it down in order.

    Threads: the drop-folder watcher, the queue poller (every ingest invocation, one batch at a
    time), the analytics schedule, uvicorn, and (interactive) a stdin reader.
    """

    def __init__(self, options: PlatformOptions) -> None:
        self.options = options
        self.say = options.say
        self.stop_event = threading.Event()
        self.failed: BaseException | None = None
        self.analytics_runs: list[dict[str, Any]] = []  # each analytics summary, in order
        self.ingest_batches = 0
        self.stack: Stack | None = None
        self.api: ApiServer | None = None
        self._env = _Environment()
        self._threads: list[threading.Thread] = []
        self._started = False
        self._analytics_busy = False

    # -- urls -------------------------------------------------------------------------------

    @property
    def base_url(self) -> str | None:
        return self.api.base_url if self.api is not None else None

    @property
    def dashboard_url(self) -> str | None:
        return f"{self.base_url}/dashboard" if self.api is not None else None

    @property
    def docs_url(self) -> str | None:
        return f"{self.base_url}/docs" if self.api is not None else None

    # -- start ------------------------------------------------------------------------------

    def start(self) -> None:
        """Bring everything up; PlatformError (one line) when something is missing."""
        try:
            self._start()
        except BaseException:
            self._shutdown(quiet=True)
            raise
        self._started = True

    def _start(self) -> None:
        opts = self.options
        try:
            self.root = find_repo_root(opts.repo)
        except RuntimeError as exc:
            raise PlatformError(str(exc)) from exc
        endpoint = opts.endpoint_url if opts.endpoint_url is not None else os.environ.get("AWS_ENDPOINT_URL")
        self.endpoint = endpoint or None
        self.lake = opts.lake if opts.lake.startswith("s3://") else str(Path(opts.lake).expanduser().resolve())
        if self.lake.startswith("s3://") and not self.endpoint:
            self.say(f"note: the lake {self.lake} is on AWS itself (AWS_ENDPOINT_URL is not set)")
        self.drop = Path(opts.drop).expanduser().resolve()
        if self.drop.exists() and not self.drop.is_dir():
            raise PlatformError(f"--drop {opts.drop}: not a folder")
        if not self.lake.startswith("s3://"):
            lake_path = Path(self.lake)
            if lake_path == self.drop or lake_path in self.drop.parents or self.drop in lake_path.parents:
                # the lake's own Parquet files would be picked up as uploads, again and again
                raise PlatformError(f"--drop {self.drop} and --lake {self.lake} overlap: use two separate folders")
        missing = [str(p) for p in opts.initial_files if not Path(p).is_file()]
        if missing:
            raise PlatformError(f"no such file: {', '.join(missing)}")

        try:
            import aws_lambda_powertools  # noqa: F401 - the handlers are built on it
        except ImportError as exc:
            raise PlatformError("retail-lake up runs the Lambda handlers, which need aws-lambda-powertools: "
                                "pip install -e '.[lambda,api]'") from exc

        # The api socket first: a taken port is the likeliest failure, before any stack is made.
        serve = opts.serve_api and (opts.api_app is not None or self._api_app_available())
        if serve:
            self.api = ApiServer(None, opts.host, opts.port, verbose=opts.verbose)
            try:
                self.api.bind()
            except OSError as exc:
                raise PlatformError(str(exc)) from exc

        self._configure_environment()
        self.region = os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or DEFAULT_REGION
        self.account = DEFAULT_ACCOUNT
        if self.endpoint:
            self._start_endpoint()
        tpl = stack_template(self.root / "template.yaml", opts.name_prefix, opts.stage,
                             account=self.account, region=self.region)
        self.ingest_fn = tpl.function("IngestFunction")
        self.analytics_fn = tpl.function("AnalyticsFunction")
        self._wire_ingest(tpl)
        self.analytics_module = self._load("analytics") if opts.analytics else None
        self.schedule = AnalyticsSchedule(opts.debounce_seconds)
        self.watcher = DropWatcher(self.drop, settle_seconds=opts.settle_seconds)
        self.watcher.prepare()
        self.poller = QueuePoller(
            self.queue, self.function, context=self._ingest_context,
            batch_size=self.ingest_fn.batch_size or 5, retry_delay=opts.retry_delay_seconds,
            wait_seconds=1.0, on_batch=self._report_batch, on_receive=self.schedule.begin,
        )
        app = (opts.api_app if opts.api_app is not None else self._load_api_app()) if serve else None
        self._banner()
        if self.analytics_module is not None and self._analytics_stale():
            self.schedule.changed("the lake has uploads newer than its analytics tables")

        self._spawn("watcher", self._watch_loop)
        self._spawn("poller", lambda: self.poller.run(self.stop_event, self._poller_error))
        if self.analytics_module is not None:
            self._spawn("analytics", self._analytics_loop)
        if self.api is not None:
            self.api.app = app
            try:
                self.api.start()
            except RuntimeError as exc:
                raise PlatformError(str(exc)) from exc
            self.say(f"dashboard  {self.dashboard_url}")
            self.say(f"API docs   {self.docs_url}")
        if opts.interactive and sys.stdin is not None and sys.stdin.isatty():
            reader = threading.Thread(target=self._stdin_loop, name="retail-lake-stdin", daemon=True)
            reader.start()  # blocked in readline; not joined (a daemon ends with the process)

    def _wire_ingest(self, tpl: Any) -> None:
        """The bucket, the queue and the function behind it, for this mode."""
        self.ingest_module: ModuleType | None = None
        self.function: Callable[[dict[str, Any], Any], dict[str, Any]]
        self.queue: LocalQueue | SqsQueue
        self.bucket: LocalBucket | EndpointBucket
        if self.stack is None:
            dlq = tpl.properties("IngestDeadLetterQueue")["QueueName"]
            tpl.refs["IngestDeadLetterQueue.Arn"] = f"arn:aws:sqs:{self.region}:{self.account}:{dlq}"
            queue = tpl.properties("IngestQueue")
            max_receive = int(queue.get("RedrivePolicy", {}).get("maxReceiveCount", 3))
            arn = f"arn:aws:sqs:{self.region}:{self.account}:{queue['QueueName']}"
            self.queue = LocalQueue(arn, max_receive_count=max_receive)
            self.bucket = LocalBucket(self.drop)
            self.function = LocalIngestFunction(self.bucket, self.lake)
        else:
            self.queue = SqsQueue(self.stack.queue_url, self.stack.queue_arn,
                                  max_receive_count=self.stack.max_receive_count)
            self.bucket = EndpointBucket(self.stack.upload_bucket)
            self.ingest_module = self._load("ingest")
            self.function = self.ingest_module.lambda_handler

    def _api_app_available(self) -> bool:
        """Whether functions/api/app.py can be served (it is imported once the environment is set)."""
        if not handler_path(self.root, "api").is_file():
            self.say("note: functions/api/app.py is missing: running without the API and dashboard")
            return False
        try:
            import fastapi  # noqa: F401
            import uvicorn  # noqa: F401
        except ImportError:
            self.say("note: the API needs fastapi and uvicorn (pip install -e '.[api]'): running without it")
            return False
        return True

    def _load_api_app(self) -> Any:
        module = self._load("api")
        app = getattr(module, "app", None)
        if app is None:
            raise PlatformError("functions/api/app.py defines no `app` (the FastAPI application) to serve")
        return app

    def _load(self, function: str) -> ModuleType:
        try:
            return load_handler_module(self.root, function)
        except Exception as exc:  # a missing dependency, a bad setting read at import, ...
            raise PlatformError(f"functions/{function}/app.py cannot be imported: {_first_line(exc)}") from exc

    def _configure_environment(self) -> None:
        env, opts = self._env, self.options
        env.set("RETAIL_LAKE", self.lake)
        env.default("POWERTOOLS_TRACE_DISABLED", "true")  # no X-Ray daemon here
        if not opts.verbose:  # EMF metrics and INFO logs are CloudWatch's; the terminal gets one line each
            env.default("POWERTOOLS_METRICS_DISABLED", "true")
            env.default("POWERTOOLS_LOG_LEVEL", "WARNING")
            # Powertools warns on every invocation that published no metric (they are off here).
            warnings.filterwarnings("ignore", message="No application metrics to publish", category=UserWarning)
        if self.endpoint:
            env.set("AWS_ENDPOINT_URL", self.endpoint)
            import boto3

            session = boto3.Session()
            if session.get_credentials() is None:  # local endpoints accept any key
                env.set("AWS_ACCESS_KEY_ID", "test")
                env.set("AWS_SECRET_ACCESS_KEY", "test")
            if not session.region_name:
                env.set("AWS_DEFAULT_REGION", DEFAULT_REGION)
        for name, value in opts.extra_env.items():
            env.set(name, value)

    def _start_endpoint(self) -> None:
        import socket
        from urllib.parse import urlsplit

        import boto3

        opts = self.options
        url = urlsplit(self.endpoint or "")
        try:
            port = url.port or (443 if url.scheme == "https" else 80)
            socket.create_connection((url.hostname or "", port), timeout=3).close()
        except (OSError, ValueError) as exc:
            raise PlatformError(f"nothing answers at AWS_ENDPOINT_URL={self.endpoint} ({exc}): start moto's server "
                                "(moto_server) or LocalStack there, or unset AWS_ENDPOINT_URL for the local "
                                "folders") from exc
        try:
            self.account = boto3.client("sts").get_caller_identity()["Account"]
            self.stack = create_stack(opts.name_prefix, template_path=self.root / "template.yaml", stage=opts.stage)
        except Exception as exc:
            raise PlatformError(f"cannot create template.yaml's stack on {self.endpoint}: {_first_line(exc)} "
                                "(is moto's server or LocalStack running there?)") from exc
        self.region = self.stack.region
        self._env.set("IDEMPOTENCY_TABLE", self.stack.table)
        if self.lake.startswith("s3://"):
            from retail_lake.storage import parse_s3_uri

            bucket, _ = parse_s3_uri(self.lake)
            s3 = boto3.client("s3")
            try:
                s3.head_bucket(Bucket=bucket)
            except Exception:
                create: dict[str, Any] = {"Bucket": bucket}
                if self.region != "us-east-1":
                    create["CreateBucketConfiguration"] = {"LocationConstraint": self.region}
                s3.create_bucket(**create)

    def _banner(self) -> None:
        opts = self.options
        if self.endpoint:
            assert self.stack is not None
            self.say(f"retail-lake up on {self.endpoint}: upload bucket s3://{self.stack.upload_bucket} "
                     f"-> queue {self.stack.queue_url.rsplit('/', 1)[-1]} (DLQ after "
                     f"{self.stack.max_receive_count} receives) -> functions/ingest")
            if not self.lake.startswith("s3://"):
                self.say(f"note: the lake stays a local folder; --lake s3://{self.stack.lake_bucket} keeps it in "
                         "the template's lake bucket on the endpoint")
        else:
            self.say("retail-lake up (local): the drop folder is the upload bucket; an in-process queue "
                     "carries its S3 notifications to the ingest")
        self.say(f"lake       {self.lake}")
        self.say(f"drop       {self.drop}{os.sep}  (raw/sales/, raw/stores/, or anywhere: the header decides)")
        if self.analytics_module is not None:
            self.say(f"analytics  after {opts.debounce_seconds:g}s without new ingests; now: "
                     f"touch {self.drop / REFRESH_TRIGGER}" + (" or type r + Enter" if opts.interactive else ""))
        else:
            self.say("analytics  off (--no-analytics)")
        self.say("stop       Ctrl-C" + (" (or q + Enter)" if opts.interactive else ""))

    def _spawn(self, name: str, target: Callable[[], None]) -> None:
        thread = threading.Thread(target=self._guarded(name, target), name=f"retail-lake-{name}", daemon=True)
        self._threads.append(thread)
        thread.start()

    def _guarded(self, name: str, target: Callable[[], None]) -> Callable[[], None]:
        def run() -> None:
            try:
                target()
            except BaseException as exc:  # a part died: stop the platform, say why
                self.failed = exc
                self.say(f"{name} stopped: {_first_line(exc)}")
                self.stop_event.set()

        return run

    # -- contexts ---------------------------------------------------------------------------

    def _ingest_context(self) -> LocalLambdaContext:
        fn = self.ingest_fn
        return LocalLambdaContext(fn.name, fn.timeout_seconds, fn.memory_mb, self.region, self.account)

    def _analytics_context(self) -> LocalLambdaContext:
        fn = self.analytics_fn
        return LocalLambdaContext(fn.name, fn.timeout_seconds, fn.memory_mb, self.region, self.account)

    # -- the watcher ------------------------------------------------------------------------

    def _watch_loop(self) -> None:
        for path in self.options.initial_files:
            path = Path(path).resolve()
            st = path.stat()
            self._put(DroppedFile(path, key_for(path.name, path), st.st_size, datetime.now(UTC)))
        while not self.stop_event.is_set():
            try:
                ready, ignored = self.watcher.scan()
                for relative in ignored:
                    self.say(f"ignored {relative} (hidden or temporary name)")
                if self.watcher.settling:
                    self.schedule.activity()
                for dropped in ready:
                    if self.stop_event.is_set():
                        break
                    self._put(dropped)
                if self.watcher.refresh_requested():
                    self._request_analytics(f"{REFRESH_TRIGGER} touched")
            except Exception as exc:  # e.g. the drop folder was removed: say so and keep watching
                self.say(f"watcher: {_first_line(exc)}")
            self.stop_event.wait(self.options.poll_seconds)

    def _put(self, dropped: DroppedFile) -> None:
        self.schedule.activity()
        try:
            obj: StoredObject = self.bucket.put(dropped)
        except Exception as exc:
            self.say(f"upload {dropped.key}: FAILED: {_first_line(exc)} (drop it again to retry)")
            return
        if isinstance(self.queue, LocalQueue):  # what S3's notification to SQS does on an endpoint
            notification = s3_put_notification(obj.bucket, obj.key, size=obj.size, etag=obj.etag,
                                               event_time=obj.event_time, region=self.region)
            self.queue.send(json_body(notification))
            where = self._relative(dropped.path)
            self.say(f"new file {where} ({obj.size:,} bytes)" + (f" as {obj.key}" if where != obj.key else ""))
        else:
            self.say(f"uploaded {dropped.path.name} to s3://{obj.bucket}/{obj.key} ({obj.size:,} bytes)")

    def _relative(self, path: Path) -> str:
        try:
            return path.relative_to(self.drop).as_posix()
        except ValueError:
            return str(path)

    def _request_analytics(self, reason: str) -> None:
        if self.analytics_module is None:
            self.say("analytics is off (--no-analytics)")
            return
        self.schedule.request(reason)

    # -- ingest reports ---------------------------------------------------------------------

    def _poller_error(self, exc: BaseException) -> None:
        self.say(f"queue: {_first_line(exc)} (retrying)")

    def _report_batch(self, batch: Batch) -> None:
        self.ingest_batches += 1
        changed = False
        try:
            if isinstance(self.function, LocalIngestFunction):
                changed = self._report_local(batch, self.function)
            else:
                changed = self._report_endpoint(batch)
        except Exception as exc:  # a report must never fail the batch
            changed = True
            self.say(f"ingest: processed (report failed: {_first_line(exc)})")
        finally:
            self.schedule.end(changed)
        for record in batch.failed():
            count = int(record["attributes"].get("ApproximateReceiveCount", "1"))
            key = ", ".join(self._keys(record)) or record["messageId"]
            reason = self._failure_reason(batch, record)
            if count >= self.queue.max_receive_count:
                self.say(f"ingest {key}: FAILED {count} times: {reason}; the message goes to the dead-letter queue")
            else:
                delay = round(self.options.retry_delay_seconds * count)
                self.say(f"ingest {key}: FAILED (attempt {count} of {self.queue.max_receive_count}): {reason}; "
                         f"retrying in {delay}s")

    @staticmethod
    def _keys(record: dict[str, Any]) -> list[str]:
        try:
            doc = json.loads(record["body"])
            return [unquote_plus(r["s3"]["object"]["key"]) for r in doc.get("Records") or [] if "s3" in r]
        except (ValueError, KeyError, TypeError, AttributeError):
            return []

    def _failure_reason(self, batch: Batch, record: dict[str, Any]) -> str:
        if isinstance(self.function, LocalIngestFunction) and record["messageId"] in self.function.errors:
            return _first_line(self.function.errors[record["messageId"]])
        processor = getattr(self.ingest_module, "processor", None)  # Powertools keeps the last batch's errors
        for failed, info in zip(getattr(processor, "fail_messages", []) or [],
                                getattr(processor, "exceptions", []) or [], strict=False):
            if getattr(failed, "message_id", None) == record["messageId"] and info and info[1] is not None:
                return _first_line(info[1])
        return _first_line(batch.error) if batch.error else "see the handler's log (--verbose)"

    def _describe(self, key: str, status: str, rows_in: int, accepted: int, quarantined: int, flagged: int,
                  message: str, table: str = "sales") -> str:
        if status == "rejected":
            return f"ingest {key}: REJECTED: {message}"
        if status == "skipped":
            return f"ingest {key}: already ingested, nothing changed ({_count(rows_in, 'row')})"
        line = (f"ingest {key}: {_count(rows_in, 'row')} in, {accepted:,} accepted, {quarantined:,} quarantined"
                + (f", {flagged:,} flagged" if flagged else "") + f" -> {table}")
        if quarantined and message.startswith("quarantined: "):
            line += f" ({message.split(': ', 1)[1].split('; ')[0]})"
        return line

    def _report_local(self, batch: Batch, function: LocalIngestFunction) -> bool:
        changed = False
        for record in batch.succeeded():
            for key, result in function.outcomes.get(record["messageId"], []):
                self.say(self._describe(key, result.status, result.rows_in, result.rows_accepted,
                                        result.rows_quarantined, result.rows_flagged, result.message,
                                        result.table))
                changed |= result.status == "succeeded" and bool(result.partitions)
        return changed

    def _report_endpoint(self, batch: Batch) -> bool:
        """What the handler did, read back from the lake's ingest_log (the handler logs it to
        CloudWatch; its result is not part of the SQS response)."""
        from retail_lake.query import connect

        objects = []
        for record in batch.succeeded():
            doc = json.loads(record["body"])
            for rec in doc.get("Records") or []:
                if "s3" in rec:
                    s3 = rec["s3"]
                    objects.append((s3["bucket"]["name"], unquote_plus(s3["object"]["key"]),
                                    (s3["object"].get("eTag") or "").strip('"')))
        if not objects:
            return False
        con = connect(self.lake, tables=["ingest_log"])
        changed = False
        started = datetime.fromtimestamp(batch.started, UTC).replace(tzinfo=None)
        try:
            for bucket, key, etag in objects:
                row = con.execute(
                    "SELECT status, rows_in, rows_accepted, rows_quarantined, rows_flagged, message, started_at "
                    "FROM ingest_log WHERE source = ? AND etag IS NOT DISTINCT FROM ? "
                    "ORDER BY started_at DESC LIMIT 1", [f"s3://{bucket}/{key}", etag or None]).fetchone()
                if row is None:
                    self.say(f"ingest {key}: processed (no ingest_log row: the object was gone)")
                    continue
                status, rows_in, accepted, quarantined, flagged, message, row_started = row
                fresh = row_started is not None and row_started >= started.replace(microsecond=0)
                table = "stores" if "/stores/" in f"/{key}" else "sales"
                self.say(self._describe(key, status if fresh else "skipped", rows_in, accepted, quarantined,
                                        flagged, message or "", table))
                changed |= fresh and status == "succeeded" and bool(accepted)
        finally:
            con.close()
        return changed

    # -- analytics --------------------------------------------------------------------------

    def _analytics_stale(self) -> bool:
        """True when the lake holds uploads newer than its last analytics run (a restart after
        files were ingested but before analytics ran)."""
        from retail_lake.query import connect

        try:
            con = connect(self.lake, tables=["ingest_log", "analytics_runs"])
            try:
                last_ingest, last_run = con.execute(
                    "SELECT (SELECT max(started_at + to_milliseconds(duration_ms)) FROM ingest_log "
                    "        WHERE status = 'succeeded' AND rows_accepted > 0), "
                    "       (SELECT max(started_at) FROM analytics_runs)").fetchone()
            finally:
                con.close()
        except Exception:  # an unreadable lake: the first ingest will tell
            return False
        return last_ingest is not None and (last_run is None or last_ingest > last_run)

    def _analytics_loop(self) -> None:
        while self.schedule.wait_due(self.stop_event):
            reason = self.schedule.take()
            self.run_analytics(reason)

    def run_analytics(self, reason: str = "requested") -> dict[str, Any] | None:
        """Invoke the analytics handler once with the EventBridge schedule event; report one line."""
        assert self.analytics_module is not None
        rule = self.analytics_fn.schedule_rule or f"{self.options.name_prefix}-{self.options.stage}-analytics-nightly"
        event = eventbridge_schedule_event(f"arn:aws:events:{self.region}:{self.account}:rule/{rule}")
        self.say(f"analytics: running ({reason})")
        clock = time.monotonic()
        self._analytics_busy = True
        try:
            summary = self.analytics_module.lambda_handler(event, self._analytics_context())
        except Exception as exc:
            self.say(f"analytics: FAILED: {_first_line(exc)}")
            summary = {"status": "failed", "message": str(exc), "tables": []}
            self.analytics_runs.append(summary)
            return summary
        finally:
            self._analytics_busy = False
        seconds = time.monotonic() - clock
        status = summary.get("status")
        if status == "succeeded":
            tables = summary.get("tables") or []
            self.say(f"analytics: {_count(len(tables), 'table')} computed in {seconds:.1f}s "
                     f"(run {summary.get('run_id')})")
        else:
            self.say(f"analytics: {status}: {summary.get('message', '')}")
        self.analytics_runs.append(summary)
        return summary

    # -- stdin ------------------------------------------------------------------------------

    def _stdin_loop(self) -> None:
        for line in sys.stdin:
            command = line.strip().lower()
            if command in ("r", "refresh"):
                self._request_analytics("requested from the terminal")
            elif command in ("q", "quit", "exit"):
                self.say("stopping ...")
                self.stop_event.set()
                return
            elif command:
                self.say("commands: r + Enter re-runs analytics, q + Enter stops")

    # -- stop -------------------------------------------------------------------------------

    def wait(self, timeout: float | None = None) -> bool:
        """Block until something asked the platform to stop; True when it did."""
        return self.stop_event.wait(timeout)

    def stop(self) -> None:
        """Stop accepting work, let a running ingest or analytics finish (files are written whole),
        stop the API, put the environment back."""
        self._shutdown(quiet=False)

    def _shutdown(self, quiet: bool) -> None:
        self.stop_event.set()
        if not quiet and (self.poller_busy or self._analytics_busy):
            self.say("stopping: waiting for the running ingest/analytics to finish (Ctrl-C again to force)")
        for thread in self._threads:
            thread.join()
        self._threads.clear()
        if self.api is not None:
            self.api.stop()
        pending = getattr(self, "schedule", None)
        if not quiet and pending is not None and pending.pending and self.analytics_module is not None:
            self.say("note: analytics did not re-run for the last ingests; it will when the platform starts again")
        self._env.restore()
        if not quiet and self._started:
            self.say("stopped")

    @property
    def poller_busy(self) -> bool:
        poller = getattr(self, "poller", None)
        return bool(poller and poller.busy)


def run_platform(
    lake: str = "./lake",
    drop: str | Path = "./drop",
    port: int = 8000,
    *,
    initial_files: Iterable[str | Path] = (),
    stop_event: threading.Event | None = None,
    ready: Callable[[Platform], None] | None = None,
    **options: Any,
) -> int:
    """Run the platform until ``stop_event`` is set, or (in the main thread) SIGINT/SIGTERM.

    Returns the exit code: 0 after a clean stop, 2 when it could not start (the reason was printed),
    1 when a part of it failed while running, 130 when a second Ctrl-C forced the stop.
    ``ready(platform)`` is called once everything is up (``platform.dashboard_url``, ...).
    ``options`` are :class:`PlatformOptions` fields (``host``, ``debounce_seconds``, ``serve_api``, ...).
    """
    opts = PlatformOptions(lake=lake, drop=Path(drop), port=port,
                           initial_files=tuple(Path(p) for p in initial_files), **options)
    platform = Platform(opts)
    in_main = threading.current_thread() is threading.main_thread()
    previous: dict[int, Any] = {}

    def on_signal(signum: int, _frame: Any) -> None:
        if platform.stop_event.is_set():
            raise KeyboardInterrupt  # the second Ctrl-C: stop waiting
        opts.say(f"{signal.Signals(signum).name}: stopping ...")
        platform.stop_event.set()

    if in_main:
        for sig in (signal.SIGINT, signal.SIGTERM):
            with contextlib.suppress(ValueError, OSError):
                previous[sig] = signal.signal(sig, on_signal)
    try:
        try:
            platform.start()
        except PlatformError as exc:
            opts.say(f"retail-lake up: {exc}")
            return 2
        if ready is not None:
            ready(platform)
        while not platform.wait(0.2):
            if stop_event is not None and stop_event.is_set():
                break
        platform.stop()
        return 1 if platform.failed is not None else 0
    except KeyboardInterrupt:
        opts.say("forced stop: work in progress was abandoned (the lake keeps only whole files)")
        return 130
    finally:
        for sig, handler in previous.items():
            with contextlib.suppress(ValueError, OSError):
                signal.signal(sig, handler)
