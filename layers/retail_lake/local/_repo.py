"""Where the functions' handlers live, and loading them the way the Lambda runtime does.

``retail-lake up`` runs ``functions/<name>/app.py`` itself, not a copy of its logic: the handlers are
not part of the installed package (each function ships only its own folder plus the layer), so they
are found in the checkout and imported by path.
"""

from __future__ import annotations

import importlib.util
import itertools
import sys
from pathlib import Path
from types import ModuleType

__all__ = ["NotACheckoutError", "find_repo_root", "handler_path", "load_handler_module"]

# A folder is the project's checkout when these exist in it.
_MARKERS = ("template.yaml", "functions/ingest/app.py", "functions/analytics/app.py")
_loaded = itertools.count(1)


class NotACheckoutError(RuntimeError):
    """The functions' handlers could not be found: not running from a checkout of the project."""


def _is_root(folder: Path) -> bool:
    return all((folder / marker).is_file() for marker in _MARKERS)


def find_repo_root(start: str | Path | None = None) -> Path:
    """The checkout that holds ``functions/`` and ``template.yaml``.

    Looks upwards from ``start`` when given; else from this package (an editable install lives in
    ``<checkout>/layers/retail_lake``), then from the current directory.
    """
    origins = [Path(start)] if start is not None else [Path(__file__).resolve().parent, Path.cwd()]
    for origin in origins:
        origin = origin.resolve()
        for folder in (origin, *origin.parents):
            if _is_root(folder):
                return folder
    raise NotACheckoutError(
        "cannot find the project's functions/<name>/app.py and template.yaml: retail-lake up runs the "
        "functions' own handlers, which live in a checkout of the project, not in the installed package; "
        "run it from inside the repository (cd <checkout>)"
    )


def handler_path(root: Path, function: str) -> Path:
    return root / "functions" / function / "app.py"


def load_handler_module(root: Path, function: str) -> ModuleType:
    """Import ``functions/<function>/app.py`` as a fresh module (a new Lambda container).

    Handlers read their settings (``$RETAIL_LAKE``, ...) at import, so a fresh module per platform run
    sees the environment that run set, as a cold start would.
    """
    path = handler_path(root, function)
    if not path.is_file():
        raise FileNotFoundError(f"{path} does not exist")
    name = f"retail_lake_local_{function}_app_{next(_loaded)}"
    spec = importlib.util.spec_from_file_location(name, path)
    if spec is None or spec.loader is None:
        raise ImportError(f"cannot import {path}")
    module = importlib.util.module_from_spec(spec)
    sys.modules[name] = module  # dataclasses and pydantic look their module up by name
    try:
        spec.loader.exec_module(module)
    except BaseException:
        sys.modules.pop(name, None)
        raise
    return module
