"""How DuckDB reaches an S3 lake (retail_lake.duck / retail_lake.mirror): the read mode, the S3
secret made from the environment, and the mirror's size limit. The reads themselves run against
moto's server in tests/integration/test_s3_reads.py."""

from __future__ import annotations

from pathlib import Path

import pytest

from retail_lake import duck
from retail_lake.config import Settings
from retail_lake.mirror import MirrorTooLarge, local_root, reads_s3_directly
from retail_lake.storage import LocalStorage, S3Storage


@pytest.fixture
def aws_env(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("AWS_PROFILE", "AWS_SESSION_TOKEN", "AWS_ENDPOINT_URL", "AWS_REGION", "AWS_DEFAULT_REGION",
                 "S3_READS", "MIRROR_MAX_MB"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    monkeypatch.setenv("AWS_SECRET_ACCESS_KEY", "it's-secret")
    monkeypatch.setenv("AWS_CONFIG_FILE", str(tmp_path / "no-config"))
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(tmp_path / "no-credentials"))


def test_secret_for_a_local_endpoint(aws_env, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "http://127.0.0.1:5000")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "eu-west-1")
    sql = duck.s3_secret_sql(Settings.from_env())
    assert sql.startswith("CREATE OR REPLACE SECRET retail_lake_s3 (TYPE s3, ")
    assert "REGION 'eu-west-1'" in sql
    assert "KEY_ID 'AKIDEXAMPLE'" in sql and "SECRET 'it''s-secret'" in sql  # quoted as a literal
    assert "ENDPOINT '127.0.0.1:5000'" in sql and "URL_STYLE 'path'" in sql and "USE_SSL false" in sql
    assert "SESSION_TOKEN" not in sql


def test_secret_for_aws_with_a_role_session(aws_env, monkeypatch) -> None:
    """In Lambda: the role's session credentials and AWS_REGION; AWS's own endpoint, virtual hosts, TLS."""
    monkeypatch.setenv("AWS_SESSION_TOKEN", "token-123")
    monkeypatch.setenv("AWS_REGION", "eu-central-1")
    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    sql = duck.s3_secret_sql(Settings.from_env())
    assert "REGION 'eu-central-1'" in sql and "SESSION_TOKEN 'token-123'" in sql
    assert "ENDPOINT" not in sql and "URL_STYLE" not in sql and "USE_SSL" not in sql


def test_secret_takes_ssl_from_the_endpoint_scheme(aws_env, monkeypatch) -> None:
    monkeypatch.setenv("AWS_ENDPOINT_URL", "https://s3.example.test:8443")
    sql = duck.s3_secret_sql(Settings.from_env())
    assert "ENDPOINT 's3.example.test:8443'" in sql and "USE_SSL true" in sql


def test_read_mode_is_checked(aws_env, monkeypatch) -> None:
    monkeypatch.setenv("S3_READS", "sideways")
    with pytest.raises(ValueError, match="S3_READS='sideways' is not one of auto, httpfs, mirror"):
        duck.s3_reads_mode(Settings.from_env())
    assert duck.s3_reads_mode(Settings(s3_reads="mirror")) == "mirror"


def test_httpfs_without_its_package(monkeypatch) -> None:
    """A DuckDB without the extension package: auto falls back to the mirror, httpfs says what to install."""
    monkeypatch.setattr(duck, "HTTPFS_PACKAGE", "duckdb_extension_not_installed_here")
    assert duck.httpfs_extension_path() is None
    assert duck.s3_reads_mode(Settings(s3_reads="auto")) == "mirror"
    with pytest.raises(duck.HttpfsUnavailable, match="duckdb-extension-httpfs=="):
        duck.s3_reads_mode(Settings(s3_reads="httpfs"))


def test_the_pinned_duckdb_has_httpfs() -> None:
    """pyproject pins duckdb and duckdb-extension-httpfs together: the extension loads, signed."""
    import duckdb

    path = duck.httpfs_extension_path()
    assert path is not None, f"no httpfs extension for DuckDB {duckdb.__version__}: install the pinned pair"
    con = duckdb.connect()
    duck.enable_s3(con, Settings(aws_region="us-east-1"))
    duck.enable_s3(con, Settings(aws_region="us-east-1"))  # again: loaded once, secret replaced
    assert con.execute("SELECT loaded FROM duckdb_extensions() WHERE extension_name = 'httpfs'").fetchone() == (True,)
    assert con.execute("SELECT current_setting('allow_unsigned_extensions')").fetchone() == (False,)
    assert [r[0] for r in con.execute("SELECT name FROM duckdb_secrets()").fetchall()] == ["retail_lake_s3"]


def test_a_local_lake_is_read_in_place(tmp_path) -> None:
    storage = LocalStorage(tmp_path)
    assert reads_s3_directly(storage, Settings(s3_reads="httpfs")) is False
    assert local_root(storage, "curated/sales/", Settings(mirror_max_bytes=0)) == tmp_path / "curated" / "sales"


def test_mirror_refuses_a_prefix_larger_than_its_budget(aws_env, monkeypatch, tmp_path) -> None:
    moto = pytest.importorskip("moto")
    import boto3

    monkeypatch.setenv("AWS_DEFAULT_REGION", "us-east-1")
    with moto.mock_aws():
        client = boto3.client("s3")
        client.create_bucket(Bucket="lake")
        for month in ("01", "02"):
            client.put_object(Bucket="lake", Key=f"curated/sales/year=2022/month={month}/u.parquet", Body=b"x" * 600)
        storage = S3Storage("lake", client=client)
        tight = Settings(s3_reads="mirror", mirror_max_bytes=1000, tmp_dir=tmp_path / "tmp")
        with pytest.raises(MirrorTooLarge, match=r"s3://lake/curated/sales/ needs .* MIRROR_MAX_MB=.*S3_READS=httpfs"):
            local_root(storage, "curated/sales/", tight)
        assert not (tmp_path / "tmp" / "retail-lake-cache").exists()  # refused before any download
        one_month = local_root(storage, "curated/sales/year=2022/month=01/", tight)  # 600 bytes fit
        assert [p.name for p in one_month.iterdir() if p.suffix == ".parquet"] == ["u.parquet"]
        roomy = Settings(s3_reads="mirror", mirror_max_bytes=2000, tmp_dir=tmp_path / "tmp")
        assert len(list(local_root(storage, "curated/sales/", roomy).rglob("*.parquet"))) == 2
