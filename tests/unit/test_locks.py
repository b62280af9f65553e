"""Reproducible builds: every dependency list has a lock file beside it that pins each package with its
hashes (made by `make lock`), the lock still satisfies the list it was made from, and every installer
(the Makefile, layers/Makefile, sam build's requirements.txt, the training Dockerfile) reads the lock."""

from __future__ import annotations

import re
import tomllib
from pathlib import Path

import pytest
from packaging.requirements import Requirement

ROOT = Path(__file__).resolve().parents[2]

# (the loose list, its lock)
LAMBDA_LOCKS = [
    (ROOT / "layers/requirements.in", ROOT / "layers/requirements.txt"),
    (ROOT / "layers/api/requirements.in", ROOT / "layers/api/requirements.txt"),
    (ROOT / "functions/train/requirements.in", ROOT / "functions/train/requirements.txt"),
]
DEV_LOCK = ROOT / "requirements-dev.lock"

PIN = re.compile(r"^([A-Za-z0-9][A-Za-z0-9._-]*)(\[[^\]]*\])?==([^\s;\\]+)")


def _canonical(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(lock: Path) -> dict[str, list[str]]:
    """name -> the versions the lock pins (two when a marker splits them, e.g. by Python version)."""
    pins: dict[str, list[str]] = {}
    text = lock.read_text()
    for block in re.split(r"\n(?=\S)", text):
        match = PIN.match(block)
        if match:
            assert "--hash=sha256:" in block, f"{lock.name}: {match.group(1)} is pinned without a hash"
            pins.setdefault(_canonical(match.group(1)), []).append(match.group(3))
        else:
            first = block.strip().splitlines()[0] if block.strip() else ""
            assert not first or first.startswith("#"), f"{lock.name}: unpinned line {first!r}"
    return pins


def requirements_of(listing: Path) -> list[Requirement]:
    out = []
    for raw in listing.read_text().splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        if line.startswith("-r "):
            out += requirements_of((listing.parent / line[3:].strip()).resolve())
        else:
            out.append(Requirement(line))
    return out


def _assert_satisfies(requirements: list[Requirement], pins: dict[str, list[str]], lock: Path) -> None:
    for requirement in requirements:
        versions = pins.get(_canonical(requirement.name))
        assert versions, f"{lock.name} does not pin {requirement.name}: run `make lock`"
        for version in versions:
            assert requirement.specifier.contains(version, prereleases=True), (
                f"{lock.name} pins {requirement.name}=={version}, outside {requirement}: run `make lock`")


@pytest.mark.parametrize(("listing", "lock"), LAMBDA_LOCKS, ids=lambda p: str(p.relative_to(ROOT)))
def test_every_lambda_lock_pins_its_list_with_hashes(listing: Path, lock: Path) -> None:
    _assert_satisfies(requirements_of(listing), locked(lock), lock)


def test_the_dev_lock_pins_pyproject_with_hashes() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]
    wanted = [Requirement(r) for r in project["dependencies"]]
    for extra in project["optional-dependencies"].values():
        wanted += [r for r in map(Requirement, extra) if _canonical(r.name) != "retail-lake"]
    _assert_satisfies(wanted, locked(DEV_LOCK), DEV_LOCK)


def test_duckdb_is_the_same_everywhere() -> None:
    """An extension build loads only into the DuckDB it was built for: one version in every lock that
    holds DuckDB (the API's own layer does not; it runs on RetailLakeLayer's)."""
    locks = [ROOT / "layers/requirements.txt", ROOT / "functions/train/requirements.txt", DEV_LOCK]
    versions = {str(lock.relative_to(ROOT)): locked(lock)["duckdb"] for lock in locks}
    assert len({tuple(v) for v in versions.values()}) == 1, versions
    for lock in locks:
        assert locked(lock)["duckdb-extension-httpfs"] == locked(lock)["duckdb"], lock


def test_every_installer_reads_the_lock() -> None:
    makefile = (ROOT / "Makefile").read_text()
    assert "--require-hashes -r requirements-dev.lock" in makefile
    assert "--no-deps -e ." in makefile
    assert '--require-hashes --target "$(ARTIFACTS_DIR)/python" -r "$(HERE)requirements.txt"' in (
        ROOT / "layers/Makefile").read_text()
    dockerfile = (ROOT / "functions/train/Dockerfile").read_text()
    assert "--require-hashes -r /tmp/functions/train/requirements.txt" in dockerfile
    # sam build's python3.12 builder installs ContentUri/requirements.txt: the lock itself.
    template = (ROOT / "template.yaml").read_text()
    assert "ContentUri: layers/api/" in template
