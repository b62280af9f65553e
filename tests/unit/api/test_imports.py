"""The API's import path stays light: no pandas, pyarrow, scikit-learn, xgboost or sqlglot (cold start,
package size), and importing the library's API package alone imports no FastAPI (the CLI loads it)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[3]
HEAVY = ("pandas", "pyarrow", "sklearn", "xgboost", "sqlglot", "numpy", "scipy", "awswrangler")


def _modules_after(code: str, tmp_path: Path) -> set[str]:
    script = code + "\nimport json, sys\nprint(json.dumps(sorted(sys.modules)))\n"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True, cwd=ROOT,
                         env={"RETAIL_LAKE": str(tmp_path / "lake"), "TMPDIR": str(tmp_path), "PATH": ""})
    return set(json.loads(out.stdout.strip().splitlines()[-1]))


def test_importing_the_handler_imports_nothing_heavy(tmp_path: Path) -> None:
    loaded = _modules_after(
        "import importlib.util\n"
        f"spec = importlib.util.spec_from_file_location('api_app', {str(ROOT / 'functions' / 'api' / 'app.py')!r})\n"
        "module = importlib.util.module_from_spec(spec); spec.loader.exec_module(module)\n"
        "assert module.handler is not None\n", tmp_path)
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY)
    assert not heavy, heavy
    assert "mangum" in loaded and "fastapi" in loaded


def test_the_cli_does_not_import_fastapi(tmp_path: Path) -> None:
    loaded = _modules_after("import retail_lake.cli as cli\ncli.build_parser()", tmp_path)
    assert "fastapi" not in loaded and "uvicorn" not in loaded
