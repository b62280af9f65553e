"""Schemathesis against the app's own OpenAPI document: no answer is a 500, and every answer matches
what the document promises (all checks: status codes, content types, headers, response schemas,
positive data accepted, negative data rejected, ...). Fixed seed (derandomized), bounded examples."""

from __future__ import annotations

import pytest

hypothesis = pytest.importorskip("hypothesis")
schemathesis = pytest.importorskip("schemathesis")

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis.errors import Unsatisfiable  # noqa: E402
from schemathesis.checks import CHECKS, load_all_checks  # noqa: E402
from schemathesis.generation import GenerationMode  # noqa: E402

from .conftest import make_client  # noqa: E402

EXAMPLES_PER_MODE = 12


def test_no_5xx_and_every_answer_matches_the_openapi_document(trained_lake, tmp_path) -> None:
    """On a lake where every table (predictions too) is published, so no answer may be a 5xx at all
    (the 503s of tables not computed yet are tested in test_behaviour.py)."""
    with make_client(trained_lake, tmp_path / "t") as client:
        _run_schemathesis(client)


def _run_schemathesis(client) -> None:
    load_all_checks()
    checks = CHECKS.get_all()
    schema = schemathesis.openapi.from_asgi("/openapi.json", client.app)
    failures: list[str] = []
    operations = [result.ok() for result in schema.get_all_operations()]
    assert len(operations) == 21  # 20 under /api/v1 + the dashboard page
    for operation in operations:
        for mode in (GenerationMode.POSITIVE, GenerationMode.NEGATIVE):

            @settings(max_examples=EXAMPLES_PER_MODE, derandomize=True, database=None, deadline=None,
                      suppress_health_check=list(HealthCheck))
            @given(case=operation.as_strategy(generation_mode=mode))
            def run(case) -> None:
                case.call_and_validate(checks=checks)

            try:
                run()
            except Unsatisfiable:  # no parameters and no body: nothing can be made invalid
                assert mode is GenerationMode.NEGATIVE and not operation.query and not operation.body, operation.label
            except Exception as exc:  # collect every operation's failure, not only the first
                failures.append(f"{operation.label} [{mode.value}]: {type(exc).__name__}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
