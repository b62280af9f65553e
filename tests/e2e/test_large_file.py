"""A 2 GB CSV ingests within 1,536 MB (the ingest function's memory): DuckDB spills, RSS stays flat.

Slow (minutes): excluded from the default run; `pytest -m slow tests/e2e/test_large_file.py`.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from retail_lake.generate import generate

LIMIT_MB = 1536
TARGET_BYTES = 2_000_000_000  # 2 GB
ROWS = 27_500_000  # about 77 bytes a row -> 2.1 GB


@pytest.mark.slow
def test_two_gigabyte_csv_ingests_within_lambda_memory(tmp_path: Path):
    csv_path = tmp_path / "big.csv"
    generate(csv_path, rows=ROWS, customers=ROWS // 4, seed=5)
    assert csv_path.stat().st_size >= TARGET_BYTES
    code = (
        "import json, sys\n"
        "from retail_lake.ingest import ingest_file\n"
        "r = ingest_file(sys.argv[1], sys.argv[2])\n"
        "print(json.dumps(r.as_dict()))\n"
    )
    # The Lambda's own setting: DuckDB gets 60 % of the function's memory.
    env = {**os.environ, "AWS_LAMBDA_FUNCTION_MEMORY_SIZE": str(LIMIT_MB)}
    proc = subprocess.Popen([sys.executable, "-c", code, str(csv_path), str(tmp_path / "lake")],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env)
    _, status, usage = os.wait4(proc.pid, 0)
    out = proc.stdout.read().decode()
    assert os.waitstatus_to_exitcode(status) == 0, proc.stderr.read().decode()[-2000:]
    result = json.loads(out.strip().splitlines()[-1])
    peak_mb = usage.ru_maxrss / 1024
    print(f"2 GB CSV: {result['rows_in']:,} rows, peak RSS {peak_mb:.0f} MB")
    assert result["rows_in"] == ROWS == result["rows_accepted"] + result["rows_quarantined"]
    assert peak_mb < LIMIT_MB
