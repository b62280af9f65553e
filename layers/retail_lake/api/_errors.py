"""The API's errors: each one becomes a JSON answer with a status and a one-line message.

``detail`` keeps FastAPI's shape (a string, or for 422 a list of ``{loc, msg, type}``) and
``message`` always says in one line what was wrong, naming the parameter where there is one.
"""

from __future__ import annotations

from typing import Any


class ApiError(Exception):
    """An answer other than 200 that the API gives on purpose."""

    status_code = 400

    def __init__(self, message: str, **extra: Any) -> None:
        super().__init__(message)
        self.message = message
        self.extra = extra

    def body(self) -> dict[str, Any]:
        return {"detail": self.message, "message": self.message, **self.extra}


class NotFound(ApiError):
    """An id (customer, store) the lake does not know."""

    status_code = 404


class BadParameter(ApiError):
    """A parameter that passed the schema but not the rules (e.g. two targets at once)."""

    status_code = 422

    def __init__(self, location: str, name: str, reason: str) -> None:
        where = "body field" if location == "body" else f"{location} parameter"
        super().__init__(f"{where} {name!r}: {reason}")
        self.loc = [location, *name.split(".")]
        self.reason = reason

    def body(self) -> dict[str, Any]:
        return {"detail": [{"loc": self.loc, "msg": self.reason, "type": "value_error"}], "message": self.message}


class NotReady(ApiError):
    """A table the answer needs has not been computed (or trained) yet."""

    status_code = 503

    def __init__(self, table: str, reason: str | None = None) -> None:
        self.table = table
        hint = ("run `retail-lake train` (the weekly training job)" if _is_prediction(table)
                else "run `retail-lake analytics` (the nightly job)")
        super().__init__(reason or f"table {table!r} has not been computed yet: {hint}", table=table)


def _is_prediction(table: str) -> bool:
    return table in PREDICTION_TABLES


# Written by training (layer `predictions`, location predictions/<table>/).
PREDICTION_TABLES = ("customer_segments_ml", "customer_clv", "sales_forecast", "model_registry")


def validation_message(errors: list[dict[str, Any]]) -> str:
    """``query parameter 'limit': Input should be less than or equal to 1000`` from FastAPI's errors."""
    parts = []
    for error in errors[:3]:
        loc = [str(p) for p in error.get("loc", ())]
        if loc and loc[0] in ("query", "path", "header", "cookie"):
            where = f"{loc[0]} parameter {'.'.join(loc[1:])!r}"
        elif loc and loc[0] == "body":
            where = f"body field {'.'.join(loc[1:])!r}" if len(loc) > 1 else "request body"
        else:
            where = ".".join(loc) or "request"
        parts.append(f"{where}: {error.get('msg', 'invalid')}")
    more = len(errors) - 3
    return "; ".join(parts) + (f" (and {more} more)" if more > 0 else "")
