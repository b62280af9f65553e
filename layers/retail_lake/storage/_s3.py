from __future__ import annotations

from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any

from retail_lake.storage._base import ObjectInfo, StorageError

if TYPE_CHECKING:
    from mypy_boto3_s3 import S3Client


def parse_s3_uri(uri: str) -> tuple[str, str]:
    """'s3://bucket/a/b' -> ('bucket', 'a/b')."""
    if not uri.startswith("s3://"):
        raise ValueError(f"not an s3:// URI: {uri!r}")
    bucket, _, prefix = uri[5:].partition("/")
    if not bucket:
        raise ValueError(f"no bucket in {uri!r}")
    return bucket, prefix.strip("/")


def s3_client() -> S3Client:
    """A boto3 S3 client; honours AWS_ENDPOINT_URL (moto server, LocalStack) by itself."""
    import boto3
    from botocore.config import Config

    return boto3.client("s3", config=Config(retries={"max_attempts": 5, "mode": "standard"}))


class S3Storage:
    """The lake in an S3 bucket under an optional prefix."""

    def __init__(self, bucket: str, prefix: str = "", client: Any | None = None) -> None:
        self.bucket = bucket
        self.prefix = prefix.strip("/")
        self.uri = f"s3://{bucket}/{self.prefix}" if self.prefix else f"s3://{bucket}"
        if client is not None:
            self.__dict__["client"] = client

    @cached_property
    def client(self) -> S3Client:
        return s3_client()

    def _key(self, key: str) -> str:
        key = key.lstrip("/")
        return f"{self.prefix}/{key}" if self.prefix else key

    def _rel(self, full_key: str) -> str:
        return full_key[len(self.prefix) + 1 :] if self.prefix else full_key

    def local_path(self, key: str) -> Path | None:
        return None

    def list(self, prefix: str) -> list[ObjectInfo]:
        out = []
        try:
            pages = self.client.get_paginator("list_objects_v2").paginate(
                Bucket=self.bucket, Prefix=self._key(prefix)
            )
            for page in pages:
                for obj in page.get("Contents", []):
                    out.append(
                        ObjectInfo(
                            key=self._rel(obj["Key"]),
                            size=obj["Size"],
                            etag=obj.get("ETag", "").strip('"') or None,
                            last_modified=obj["LastModified"],
                        )
                    )
        except Exception as exc:  # botocore errors: let the caller retry
            raise StorageError(f"listing {self.uri}/{prefix}: {exc}") from exc
        return out

    def exists(self, key: str) -> bool:
        try:
            self.stat(key)
        except FileNotFoundError:
            return False
        return True

    def stat(self, key: str) -> ObjectInfo:
        with _translated(self, "head", key):
            head = self.client.head_object(Bucket=self.bucket, Key=self._key(key))
        return ObjectInfo(key.lstrip("/"), head["ContentLength"], head.get("ETag", "").strip('"') or None,
                          head["LastModified"])

    def read_bytes(self, key: str) -> bytes:
        with _translated(self, "get", key):
            return self.client.get_object(Bucket=self.bucket, Key=self._key(key))["Body"].read()

    def read_if_changed(self, key: str, etag: str | None) -> tuple[bytes | None, str | None]:
        kwargs = {"IfNoneMatch": f'"{etag}"'} if etag else {}
        with _translated(self, "get", key, not_modified_ok=True) as outcome:
            resp = self.client.get_object(Bucket=self.bucket, Key=self._key(key), **kwargs)
            return resp["Body"].read(), resp.get("ETag", "").strip('"') or None
        if outcome.not_modified:
            return None, etag
        raise AssertionError("unreachable")  # _translated raised or returned above

    def download(self, key: str, dest: Path) -> Path:
        dest.parent.mkdir(parents=True, exist_ok=True)
        with _translated(self, "download", key):
            self.client.download_file(self.bucket, self._key(key), str(dest))
        return dest

    def upload(self, src: Path, key: str) -> None:
        with _translated(self, "upload", key):
            self.client.upload_file(str(src), self.bucket, self._key(key))

    def write_bytes(self, key: str, data: bytes) -> None:
        with _translated(self, "put", key):
            self.client.put_object(Bucket=self.bucket, Key=self._key(key), Body=data)

    def delete(self, keys: list[str]) -> None:
        for start in range(0, len(keys), 1000):
            chunk = keys[start : start + 1000]
            with _translated(self, "delete", chunk[0]):
                resp = self.client.delete_objects(
                    Bucket=self.bucket,
                    Delete={"Objects": [{"Key": self._key(k)} for k in chunk], "Quiet": True},
                )
            if resp.get("Errors"):
                raise StorageError(f"delete failed for {len(resp['Errors'])} objects: {resp['Errors'][0]}")

    # --- conditional writes (issue 10): S3's If-None-Match / If-Match -------------------------------

    def create_if_absent(self, key: str, data: bytes) -> bool:
        return self._conditional("create", key, lambda: self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, IfNoneMatch="*"))

    def replace_if_unchanged(self, key: str, data: bytes, etag: str) -> bool:
        return self._conditional("replace", key, lambda: self.client.put_object(
            Bucket=self.bucket, Key=self._key(key), Body=data, IfMatch=_quoted(etag)))

    def delete_if_unchanged(self, key: str, etag: str) -> bool:
        try:
            return self._conditional("delete", key, lambda: self.client.delete_object(
                Bucket=self.bucket, Key=self._key(key), IfMatch=_quoted(etag)))
        except StorageError as exc:
            if "NotImplemented" not in str(exc):
                raise
        # An endpoint without conditional deletes (LocalStack today; AWS S3 has them): compare, then
        # delete. Not atomic there, which is why AWS's own If-Match is tried first.
        try:
            if self.stat(key).etag != etag.strip('"'):
                return False
        except FileNotFoundError:
            return False
        self.delete([key])
        return True

    def _conditional(self, action: str, key: str, call: Any) -> bool:
        """True when S3 applied the write; False when its precondition failed (412), a concurrent
        conditional write won (409 ConditionalRequestConflict) or, for replace/delete, the key is
        gone; StorageError for anything else (network, throttling, a missing bucket)."""
        try:
            call()
        except Exception as exc:
            response = getattr(exc, "response", None) or {}
            code = str(response.get("Error", {}).get("Code", ""))
            status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            if code in _CONDITION_LOST or status in (409, 412):
                return False
            if action != "create" and (code in _MISSING_CODES or status == 404):
                return False
            raise StorageError(f"{action} {self.uri}/{key} (conditional): {exc}") from exc
        return True


def _quoted(etag: str) -> str:
    return '"' + etag.strip('"') + '"'


_CONDITION_LOST = frozenset({"PreconditionFailed", "ConditionalRequestConflict", "412", "409"})
_MISSING_CODES = frozenset({"404", "NoSuchKey", "NotFound"})


class _Outcome:
    not_modified = False


class _translated:
    """Turn botocore failures into FileNotFoundError (missing key) or StorageError (anything else)."""

    def __init__(self, storage: S3Storage, action: str, key: str, not_modified_ok: bool = False) -> None:
        self.where = f"{action} {storage.uri}/{key}"
        self.not_modified_ok = not_modified_ok
        self.outcome = _Outcome()

    def __enter__(self) -> _Outcome:
        return self.outcome

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: object) -> bool:
        if exc is None or not isinstance(exc, Exception) or isinstance(exc, StorageError | FileNotFoundError):
            return False
        response = getattr(exc, "response", None) or {}
        code = str(response.get("Error", {}).get("Code", ""))
        status = response.get("ResponseMetadata", {}).get("HTTPStatusCode")
        if self.not_modified_ok and (code in ("304", "NotModified") or status == 304):
            self.outcome.not_modified = True
            return True
        if code == "NoSuchBucket":  # the lake itself is missing: not a missing key
            raise StorageError(f"{self.where}: {exc}") from exc
        if code in _MISSING_CODES or status == 404:
            raise FileNotFoundError(self.where) from exc
        raise StorageError(f"{self.where}: {exc}") from exc
