"""Retail Lake: the shared library behind the ingest, analytics, training and API functions.

The import is deliberately cheap (no pandas, pyarrow, scikit-learn or awswrangler): the API function
imports this package on its cold-start path. Heavy libraries are imported inside the functions that
need them.
"""

__version__ = "0.1.0"
