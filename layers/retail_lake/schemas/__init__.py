"""Table definitions loaded from ``lake_schemas/*.yaml`` and the types derived from them.

Everything that needs a column list (ingest, DuckDB views, Parquet writers, Glue tables, docs)
asks this module, so the YAML files stay the single source of truth. Importing it costs only
PyYAML; the Arrow schema is built on demand (pyarrow is imported lazily).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cache
from importlib import resources
from typing import TYPE_CHECKING, Any

import yaml

if TYPE_CHECKING:
    import pyarrow as pa

__all__ = [
    "Check",
    "Column",
    "Layout",
    "LayoutCheck",
    "Table",
    "all_tables",
    "arrow_schema",
    "duckdb_type",
    "glue_type",
    "normalise_header",
    "table",
]

_DUCKDB_TYPES = {
    "string": "VARCHAR",
    "int": "INTEGER",
    "bigint": "BIGINT",
    "double": "DOUBLE",
    "date": "DATE",
    "timestamp": "TIMESTAMP",
    "boolean": "BOOLEAN",
}
_GLUE_TYPES = {
    "string": "string",
    "int": "int",
    "bigint": "bigint",
    "double": "double",
    "date": "date",
    "timestamp": "timestamp",
    "boolean": "boolean",
}


# Layers whose tables are written by a job as whole versions (see retail_lake.versions).
VERSIONED_LAYERS = frozenset({"analytics", "predictions"})


@dataclass(frozen=True)
class Check:
    """One validation rule: ``rule`` names it in quarantine rows, ``when`` says when it fires."""

    rule: str
    when: str


@dataclass(frozen=True)
class Column:
    name: str
    type: str
    nullable: bool = True
    description: str = ""
    input: str | None = None  # "required" / "optional" for columns read from uploads
    aliases: tuple[str, ...] = ()
    checks: tuple[Check, ...] = ()

    @property
    def duckdb_type(self) -> str:
        return duckdb_type(self.type)

    @property
    def glue_type(self) -> str:
        return glue_type(self.type)


@dataclass(frozen=True)
class LayoutCheck:
    """A rule a known layout adds to one input column (tried before the column's own rules)."""

    column: str
    rule: str
    when: str

    @property
    def check(self) -> Check:
        return Check(rule=self.rule, when=self.when)


@dataclass(frozen=True)
class Layout:
    """A known public file layout whose headers mean something else than their names say
    (lake_schemas ``layouts``): recognised when every ``signature`` header is present."""

    name: str
    signature: tuple[str, ...]
    note: str
    headers: dict[str, str] = field(default_factory=dict, hash=False)  # header -> column it means
    discount: str | None = None  # 'rate': the discount column is a rate of the undiscounted line
    checks: tuple[LayoutCheck, ...] = ()
    # 'month_first' / 'day_first': the order the layout's exports write numeric dates in, used when
    # the file's own dates do not settle it (every date reads both ways)
    dates: str | None = None

    def column_checks(self, column: str) -> tuple[Check, ...]:
        return tuple(c.check for c in self.checks if c.column == column)


@dataclass(frozen=True)
class Table:
    name: str
    layer: str
    description: str
    location: str
    columns: tuple[Column, ...]
    partitions: tuple[Column, ...] = ()
    business_key: tuple[str, ...] = ()
    physical_table: str | None = None
    layouts: tuple[Layout, ...] = ()
    extra: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)

    def layout_of(self, headers: list[str]) -> Layout | None:
        """The known layout whose signature headers are all among ``headers`` (matched like any
        header), if any."""
        present = {normalise_header(h) for h in headers}
        return next((layout for layout in self.layouts
                     if all(normalise_header(s) in present for s in layout.signature)), None)

    @property
    def column_names(self) -> list[str]:
        return [c.name for c in self.columns]

    @property
    def all_columns(self) -> tuple[Column, ...]:
        """Data columns followed by partition columns (the order DuckDB/Athena show them)."""
        return self.columns + self.partitions

    @property
    def versioned(self) -> bool:
        """Published as immutable versions behind a ``_current.json`` pointer (analytics, predictions)."""
        return self.layer in VERSIONED_LAYERS and self.extra.get("storage", "versioned") == "versioned"

    @property
    def input_columns(self) -> tuple[Column, ...]:
        """Columns that uploads may carry (matched by name or alias)."""
        return tuple(c for c in self.columns if c.input)

    def column(self, name: str) -> Column:
        for col in self.all_columns:
            if col.name == name:
                return col
        raise KeyError(f"{self.name} has no column {name!r}")

    def typed_columns(self, *, qualifier: str | None = None, partitions: bool = True,
                      present: set[str] | frozenset[str] | None = None) -> str:
        """The typed projection ``CAST("c" AS TYPE) AS "c", ...`` of this table, written once here.

        ``qualifier`` prefixes each source column (``result."c"``); ``partitions=False`` leaves the
        partition columns out; with ``present``, a column missing from the source reads as NULL.
        """
        cols = self.all_columns if partitions else self.columns
        prefix = f"{qualifier}." if qualifier else ""

        def source(name: str) -> str:
            return "NULL" if present is not None and name not in present else f'{prefix}"{name}"'

        return ", ".join(f'CAST({source(c.name)} AS {c.duckdb_type}) AS "{c.name}"' for c in cols)

    def typed_select(self, source: str, *, qualifier: str | None = None, partitions: bool = True,
                     present: set[str] | frozenset[str] | None = None) -> str:
        """``SELECT <typed columns> FROM <source>``: a relation with exactly this table's columns and types."""
        cols = self.typed_columns(qualifier=qualifier, partitions=partitions, present=present)
        return f"SELECT {cols} FROM {source}"

    def empty_select_sql(self) -> str:
        """A typed, empty SELECT with this table's columns (stands in for a table with no files)."""
        return f"SELECT {self.typed_columns(present=frozenset())} WHERE false"


def duckdb_type(type_name: str) -> str:
    return _DUCKDB_TYPES[type_name]


def glue_type(type_name: str) -> str:
    return _GLUE_TYPES[type_name]


def normalise_header(name: str) -> str:
    """Header matching key: case-, space- and punctuation-insensitive ('Invoice No' -> 'invoice_no')."""
    name = name.replace("\ufeff", "").strip().lower()
    name = re.sub(r"[^0-9a-z]+", "_", name)
    return name.strip("_")


def _column(raw: dict[str, Any]) -> Column:
    if raw["type"] not in _DUCKDB_TYPES:
        raise ValueError(f"column {raw['name']!r}: unknown type {raw['type']!r}")
    return Column(
        name=raw["name"],
        type=raw["type"],
        nullable=bool(raw.get("nullable", True)),
        description=str(raw.get("description", "")).strip(),
        input=raw.get("input"),
        aliases=tuple(raw.get("aliases", ())),
        checks=tuple(Check(**c) for c in raw.get("checks", ())),
    )


def _layout(raw: dict[str, Any]) -> Layout:
    return Layout(
        name=raw["name"],
        signature=tuple(raw["signature"]),
        note=str(raw["note"]),
        headers=dict(raw.get("headers") or {}),
        discount=raw.get("discount"),
        checks=tuple(LayoutCheck(**c) for c in raw.get("checks") or ()),
        dates=_layout_dates(raw),
    )


def _layout_dates(raw: dict[str, Any]) -> str | None:
    dates = raw.get("dates")
    if dates not in (None, "month_first", "day_first"):
        raise ValueError(f"layout {raw.get('name')}: dates must be month_first or day_first, not {dates!r}")
    return dates


def _load(raw: dict[str, Any]) -> Table:
    known = {"name", "layer", "description", "location", "columns", "partitions", "business_key",
             "physical_table", "layouts"}
    return Table(
        name=raw["name"],
        layer=raw["layer"],
        description=" ".join(str(raw.get("description", "")).split()),
        location=raw["location"],
        columns=tuple(_column(c) for c in raw["columns"]),
        partitions=tuple(_column(c) for c in raw.get("partitions") or ()),
        business_key=tuple(raw.get("business_key") or ()),
        physical_table=raw.get("physical_table"),
        layouts=tuple(_layout(r) for r in raw.get("layouts") or ()),
        extra={k: v for k, v in raw.items() if k not in known},
    )


# libyaml's parser when PyYAML has it (its wheels do): parsing every lake_schemas file with the
# pure-Python one took ~0.5 s, paid by every ingest, analytics run and cold start.
_YAML_LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml(text: str) -> Any:
    """yaml.safe_load, with the C parser when available (same safe constructor, same results)."""
    return yaml.load(text, Loader=_YAML_LOADER)  # a safe loader, C or Python


@cache
def all_tables() -> dict[str, Table]:
    """Every table defined in lake_schemas/, by name."""
    names = sorted(e.name.removesuffix(".yaml") for e in resources.files("lake_schemas").iterdir()
                   if e.name.endswith(".yaml"))
    return {name: table(name) for name in names}


@cache
def table(name: str) -> Table:
    """One table's definition, reading only its own file (an ingest needs two of the ~24)."""
    entry = resources.files("lake_schemas").joinpath(f"{name}.yaml")
    if not name or "/" in name or not entry.is_file():
        raise KeyError(f"no table {name!r} in lake_schemas/ (known: {', '.join(all_tables())})")
    spec = _load(load_yaml(entry.read_text(encoding="utf-8")))
    if spec.name != name:
        raise ValueError(f"lake_schemas/{name}.yaml defines table {spec.name!r}")
    return spec


def arrow_schema(name: str, *, with_partitions: bool = False) -> pa.Schema:
    """The Arrow schema of a table (imports pyarrow on first use only)."""
    import pyarrow as pa

    types = {
        "string": pa.string(),
        "int": pa.int32(),
        "bigint": pa.int64(),
        "double": pa.float64(),
        "date": pa.date32(),
        "timestamp": pa.timestamp("us"),
        "boolean": pa.bool_(),
    }
    spec = table(name)
    cols = spec.all_columns if with_partitions else spec.columns
    return pa.schema([pa.field(c.name, types[c.type], nullable=c.nullable) for c in cols])
