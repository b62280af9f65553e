"""Response and request models of the API (the OpenAPI contract)."""

from retail_lake.api.schemas._tables import AnyRow, example_row, row_model, table_model
from retail_lake.api.schemas.campaign import CampaignRequest, CampaignResult, segment_names
from retail_lake.api.schemas.common import ERROR_RESPONSES, ErrorBody, ListPage
from retail_lake.api.schemas.customers import insights_model
from retail_lake.api.schemas.health import Health, TableHealth

__all__ = [
    "ERROR_RESPONSES",
    "AnyRow",
    "CampaignRequest",
    "CampaignResult",
    "ErrorBody",
    "Health",
    "ListPage",
    "TableHealth",
    "example_row",
    "insights_model",
    "row_model",
    "segment_names",
    "table_model",
]
