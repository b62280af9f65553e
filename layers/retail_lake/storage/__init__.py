"""One interface over the lake's storage: a local folder laid out like the bucket, or S3.

``open_storage("./lake")`` and ``open_storage("s3://bucket/prefix")`` return objects with the same
methods, so ingest, analytics and the API run the same code path locally, against moto or
LocalStack (``AWS_ENDPOINT_URL``) and in AWS.
"""

from retail_lake.storage._base import ObjectInfo, Storage, StorageError
from retail_lake.storage._local import LocalStorage
from retail_lake.storage._s3 import S3Storage, parse_s3_uri

__all__ = ["LocalStorage", "ObjectInfo", "S3Storage", "Storage", "StorageError", "open_storage", "parse_s3_uri"]


def open_storage(uri: str) -> Storage:
    """A storage for a lake URI: ``s3://bucket[/prefix]`` or a local directory."""
    if uri.startswith("s3://"):
        bucket, prefix = parse_s3_uri(uri)
        return S3Storage(bucket, prefix)
    return LocalStorage(uri)
