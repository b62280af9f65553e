"""lake_schemas parse the same with the C YAML parser the library uses as with PyYAML's pure one."""

from __future__ import annotations

from importlib import resources

import pytest
import yaml

from retail_lake.schemas import load_yaml

FILES = sorted(
    (entry for entry in resources.files("lake_schemas").iterdir() if entry.name.endswith(".yaml")),
    key=lambda entry: entry.name,
)


@pytest.mark.parametrize("entry", FILES, ids=[entry.name for entry in FILES])
def test_load_yaml_equals_safe_load(entry) -> None:
    text = entry.read_text(encoding="utf-8")
    assert load_yaml(text) == yaml.safe_load(text)


def test_load_yaml_stays_safe() -> None:
    with pytest.raises(yaml.YAMLError):
        load_yaml("!!python/object/apply:os.system ['true']")
