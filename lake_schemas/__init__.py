"""Lake table definitions: one YAML file per table, the single source of truth.

Ingest validation, the Parquet/Arrow schemas, the Glue tables in template.yaml, the Athena DDL and
the table docs are all derived from these files (see ``retail_lake.schemas``).
"""
