"""Compaction of the curated sales (DESIGN: "Concurrency and the business key").

Ingest only ever appends one file per upload and partition, so partitions collect small files and
superseded rows. Compaction rewrites each partition that holds more than one file (the only ones
that received files since the last compaction, so its cost follows the new data) into ONE file with
only the rows that win inside that partition, then deletes exactly the files it read. A file that
lands while it works is not among them and survives; the `sales` view still resolves the business
key across partitions, and counts a row once if a redelivery puts it back beside the compacted file.
"""

from __future__ import annotations

import hashlib
import tempfile
import time
from collections import defaultdict
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from retail_lake import schemas
from retail_lake.config import Settings
from retail_lake.duck import new_duckdb, read_sql, register_parquet, sql_literal
from retail_lake.layout import COMPACTED_FILE_PREFIX, SALES_PREFIX
from retail_lake.mirror import readable_file, reads_s3_directly
from retail_lake.storage import ObjectInfo, Storage

if TYPE_CHECKING:
    import duckdb

COMPACTED_PREFIX = COMPACTED_FILE_PREFIX


@dataclass(frozen=True)
class PartitionCompaction:
    partition: str  # e.g. "curated/sales/year=2022/month=05/"
    files_read: tuple[str, ...]
    written_key: str
    rows_read: int
    rows_written: int


@dataclass
class CompactionReport:
    partitions_seen: int = 0
    compacted: list[PartitionCompaction] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def files_read(self) -> int:
        return sum(len(p.files_read) for p in self.compacted)

    @property
    def rows_dropped(self) -> int:
        return sum(p.rows_read - p.rows_written for p in self.compacted)

    def summary(self) -> str:
        if not self.compacted:
            return f"compaction: nothing to do ({self.partitions_seen} partitions, one file each)"
        return (
            f"compaction: {len(self.compacted)} of {self.partitions_seen} partitions rewritten, "
            f"{self.files_read} files -> {len(self.compacted)}, {self.rows_dropped} superseded rows dropped "
            f"({self.seconds:.1f}s)"
        )


def _is_data_file(info: ObjectInfo) -> bool:
    name = info.key.rsplit("/", 1)[-1]
    return name.endswith(".parquet") and not name.startswith(".tmp-")


def partitions_to_compact(storage: Storage) -> tuple[int, dict[str, list[str]]]:
    """(partitions seen, {partition prefix: its file keys}) for partitions holding more than one file."""
    by_partition: dict[str, list[str]] = defaultdict(list)
    for info in storage.list(SALES_PREFIX):
        if _is_data_file(info):
            by_partition[info.key.rsplit("/", 1)[0] + "/"].append(info.key)
    todo = {p: sorted(keys) for p, keys in sorted(by_partition.items()) if len(keys) > 1}
    return len(by_partition), todo


def compact_sales(storage: Storage, settings: Settings | None = None) -> CompactionReport:
    """Compact every curated sales partition that holds more than one file.

    The caller holds the analytics lock, so two compactions never race on one partition.
    """
    settings = settings or Settings.from_env()
    started = time.perf_counter()
    report = CompactionReport()
    report.partitions_seen, todo = partitions_to_compact(storage)
    for partition, keys in todo.items():
        report.compacted.append(_compact_partition(storage, partition, keys, settings))
    report.seconds = time.perf_counter() - started
    return report


def _compact_partition(storage: Storage, partition: str, keys: list[str], settings: Settings) -> PartitionCompaction:
    spec = schemas.table("sales")
    digest = hashlib.sha256("\n".join(keys).encode()).hexdigest()[:16]
    written_key = f"{partition}{COMPACTED_PREFIX}{digest}.parquet"
    settings.tmp_dir.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="retail-lake-compact-", dir=settings.tmp_dir) as tmp:
        workdir = Path(tmp)
        con = new_duckdb(settings)
        try:
            files = _partition_files(con, storage, keys, workdir, settings)
            register_parquet(con, "sales_versions", files, spec, hive=True)
            rows_read = con.execute("SELECT COUNT(*) FROM sales_versions").fetchone()[0]
            winners = spec.typed_select(f"({read_sql('views/sales.sql')}) AS winners", partitions=False)
            out = workdir / "compacted.parquet"
            con.execute(
                f"COPY ({winners} "
                'ORDER BY invoice_date, invoice_no, "row_number") '
                f"TO {sql_literal(str(out))} (FORMAT parquet, COMPRESSION zstd)"
            )
            rows_written = con.execute(f"SELECT COUNT(*) FROM read_parquet({sql_literal(str(out))})").fetchone()[0]
        finally:
            con.close()
        storage.upload(out, written_key)
    # Only the files read above; never the new file (its name is derived from their names).
    storage.delete([k for k in keys if k != written_key])
    return PartitionCompaction(partition, tuple(keys), written_key, rows_read, rows_written)


def _partition_files(con: duckdb.DuckDBPyConnection, storage: Storage, keys: list[str], workdir: Path,
                     settings: Settings) -> list[str]:
    """The partition's files as ``con`` reads them: in place (local lake), by ``s3://`` URL
    (httpfs: nothing copied), else downloaded into ``workdir``. The hive path (year=/month=) stays
    in every path: the view reads the partition columns from it."""
    if storage.local_path("") is not None or reads_s3_directly(storage, settings):
        return [readable_file(con, storage, key, settings) for key in keys]
    return [str(storage.download(key, workdir / "in" / key)) for key in keys]
