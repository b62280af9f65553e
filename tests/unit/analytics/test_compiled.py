"""The memo of compiled SQL (analytics/_compiled.py): a result is reused only for exactly the inputs
it was computed from, a damaged or foreign cache is ignored, and a run with a warm cache computes
the same tables as one without."""

from __future__ import annotations

import dataclasses
import json
import os
from pathlib import Path

import pytest

from retail_lake.analytics import _compiled, _rewrites
from retail_lake.analytics._compiled import Memo, RunFacts
from retail_lake.analytics._sql import render_sql, shared_body, typed_select
from retail_lake.analytics._tables import TABLE_NAMES
from retail_lake.config import Settings

from .conftest import compute, sale

_NAMES = tuple(_rewrites.REWRITES)


def _statement(table: str = "store_performance") -> str:
    return typed_select(table, render_sql(table))


def _facts(**changes) -> RunFacts:
    facts = RunFacts(customer_key_bound=8, one_line_invoices=True, held={"customer_keys": "shared_customer_keys"},
                     definitions={"customer_keys": shared_body("customer_keys")})
    return dataclasses.replace(facts, **changes)


def test_a_saved_result_is_reused_by_the_next_run(tmp_path: Path) -> None:
    sql = _statement()
    first = Memo(tmp_path)
    compiled = first.compiled(sql, _NAMES, _facts())
    assert compiled == _rewrites.rewrite(sql, _facts(), _NAMES)
    assert first.ctes_defined(sql) == _rewrites.ctes_defined(sql)
    assert first.relations_read(sql) == _rewrites.relations_read(sql)
    first.save()
    second = Memo(tmp_path)
    assert second.compiled(sql, _NAMES, _facts()) == compiled
    assert second.ctes_defined(sql) == _rewrites.ctes_defined(sql)
    assert second.relations_read(sql) == _rewrites.relations_read(sql)
    assert (second.hits, second.misses) == (3, 0)


@pytest.mark.parametrize("change", [
    {"customer_key_bound": 16}, {"one_line_invoices": False}, {"money_sums_fit": True}, {"held": {}},
    {"definitions": {"customer_keys": shared_body("customer_keys") + " "}},
])
def test_every_fact_is_part_of_the_key(tmp_path: Path, change: dict) -> None:
    sql = _statement()
    memo = Memo(tmp_path)
    memo.compiled(sql, _NAMES, _facts())
    assert memo.compiled(sql, _NAMES, _facts(**change)) == _rewrites.rewrite(sql, _facts(**change), _NAMES)
    assert memo.misses == 2


def test_the_statement_the_rewrites_and_the_code_are_part_of_the_key(tmp_path: Path,
                                                                    monkeypatch: pytest.MonkeyPatch) -> None:
    sql = _statement()
    memo = Memo(tmp_path)
    memo.compiled(sql, _NAMES, _facts())
    memo.compiled(sql.replace("revenue", "revenue_"), _NAMES, _facts())
    memo.compiled(sql, _NAMES[:1], _facts())
    assert memo.misses == 3
    memo.save()
    monkeypatch.setattr(_compiled, "_code_salt", lambda: "other rewrites or another sqlglot")
    other = Memo(tmp_path)
    other.compiled(sql, _NAMES, _facts())
    assert (other.hits, other.misses) == (0, 1)


@pytest.mark.parametrize("content", ["{not json", '{"format": 1, "entries": []}', '{"format": 999, "entries": {}}',
                                     "null", ""])
def test_a_damaged_cache_file_is_a_miss(tmp_path: Path, content: str) -> None:
    (tmp_path / _compiled.FILE_NAME).write_text(content)
    memo = Memo(tmp_path)
    sql = _statement()
    assert memo.compiled(sql, _NAMES, _facts()) == _rewrites.rewrite(sql, _facts(), _NAMES)
    memo.save()
    assert json.loads((tmp_path / _compiled.FILE_NAME).read_text())["format"] == _compiled.FORMAT


def test_an_entry_of_the_wrong_shape_is_a_miss(tmp_path: Path) -> None:
    sql = _statement()
    memo = Memo(tmp_path)
    memo.compiled(sql, _NAMES, _facts())
    memo.ctes_defined(sql)
    memo.save()
    data = json.loads((tmp_path / _compiled.FILE_NAME).read_text())
    for entry in data["entries"].values():
        entry[1] = 42
    (tmp_path / _compiled.FILE_NAME).write_text(json.dumps(data))
    again = Memo(tmp_path)
    assert again.compiled(sql, _NAMES, _facts()) == _rewrites.rewrite(sql, _facts(), _NAMES)
    assert again.ctes_defined(sql) == _rewrites.ctes_defined(sql)
    assert again.hits == 0


@pytest.mark.skipif(not hasattr(os, "getuid"), reason="POSIX permissions")
def test_a_folder_others_can_write_to_is_not_used(tmp_path: Path) -> None:
    folder = tmp_path / "shared"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    memo = Memo(folder)
    assert memo.path is None
    memo.compiled(_statement(), _NAMES, _facts())
    memo.save()
    assert not (folder / _compiled.FILE_NAME).exists()


def test_the_cache_can_be_turned_off(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_SQL_CACHE", "none")
    assert _compiled.default_folder() is None
    assert _compiled.memo().path is None


def test_the_file_keeps_the_most_recently_used_entries(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_compiled, "MAX_ENTRIES", 2)
    memo = Memo(tmp_path)
    for n, table in enumerate(("store_performance", "region_performance", "payment_methods")):
        monkeypatch.setattr(_compiled.time, "time", lambda n=n: 1000 + n)
        memo.compiled(_statement(table), _NAMES, _facts())
    memo.save()
    again = Memo(tmp_path)
    again.compiled(_statement("payment_methods"), _NAMES, _facts())
    again.compiled(_statement("region_performance"), _NAMES, _facts())
    again.compiled(_statement("store_performance"), _NAMES, _facts())
    assert (again.hits, again.misses) == (2, 1)


def test_a_run_with_a_warm_cache_computes_the_same_tables(tmp_path: Path, settings: Settings,
                                                          monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANALYTICS_SQL_CACHE", str(tmp_path / "cache"))
    rows = [sale("I1", "C1", "2023-01-05", 10), sale("I2", "C2", "2023-02-07", 20, shopping_mall="Metrocity"),
            sale("I3", "C1", "2023-03-09", 30, category="Shoes")]
    tables = {}
    for run in ("cold", "warm"):
        (tmp_path / run).mkdir()
        con = compute(tmp_path / run, rows, settings)
        tables[run] = {t: sorted(con.execute(f'SELECT * FROM "{t}"').fetchall(), key=repr) for t in TABLE_NAMES}
        if run == "cold":
            _compiled._memos.clear()  # the next run starts from the file, as a new process does
    assert _compiled.memo().hits > 0 and _compiled.memo().misses == 0
    assert tables["warm"] == tables["cold"]


def test_a_lake_that_gained_customers_still_finds_its_compiled_statements(tmp_path: Path) -> None:
    """The bitmap bound is the customer count rounded up to a step (1/16 to 1/32 of it): a nightly
    run after new uploads (a few more customers, same step) reuses yesterday's compiled SQL."""
    assert [_compiled.key_bound(n) for n in (0, 1, 3, 31, 33, 435_944, 440_000, 442_369, 2_179_381)] == \
        [0, 1, 3, 31, 34, 442_368, 442_368, 458_752, 2_228_224]
    sql = _statement("cohort_retention")
    yesterday = Memo(tmp_path)
    yesterday.compiled(sql, _NAMES, _facts(customer_key_bound=_compiled.key_bound(435_944)))
    yesterday.save()
    today = Memo(tmp_path)
    out = today.compiled(sql, _NAMES, _facts(customer_key_bound=_compiled.key_bound(440_000)))
    assert (today.hits, today.misses) == (1, 0)
    assert "BITSTRING_AGG(" in out and ", 1, 442368)" in out
