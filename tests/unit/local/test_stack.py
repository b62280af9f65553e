"""template.yaml read without cfn-lint gives the document cfn-lint's decoder gives, and the
functions' settings the platform copies (names, timeouts, batch size, schedule rule)."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from retail_lake.local._repo import NotACheckoutError, find_repo_root
from retail_lake.local._stack import load_template, stack_template

ROOT = Path(__file__).resolve().parents[3]


def test_short_tags_read_as_cfn_lint_reads_them() -> None:
    decode = pytest.importorskip("cfnlint.decode").decode
    theirs, errors = decode(str(ROOT / "template.yaml"))
    assert not errors
    ours = load_template(ROOT / "template.yaml")
    assert json.loads(json.dumps(ours, default=str)) == json.loads(json.dumps(theirs, default=str))


def test_function_settings_come_from_the_template() -> None:
    tpl = stack_template(ROOT / "template.yaml", "shop", "prod", account="000000000000", region="eu-west-1")
    ingest = tpl.function("IngestFunction")
    assert (ingest.name, ingest.timeout_seconds, ingest.memory_mb, ingest.batch_size) == (
        "shop-prod-ingest", 600, 1536, 5)
    analytics = tpl.function("AnalyticsFunction")
    assert analytics.schedule_rule == "shop-prod-analytics-nightly" and analytics.timeout_seconds == 900
    assert tpl.properties("LakeBucket")["BucketName"] == "shop-prod-lake-000000000000-eu-west-1"


def test_repo_root_is_found_from_inside_and_refused_outside(tmp_path: Path) -> None:
    assert find_repo_root(ROOT / "tests" / "unit") == ROOT
    assert find_repo_root() == ROOT  # from the package itself (an editable install)
    with pytest.raises(NotACheckoutError, match="run it from inside the repository"):
        find_repo_root(tmp_path)
