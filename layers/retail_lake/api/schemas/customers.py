"""customers/insights/{customer_id}: one customer's profile, RFM fields at the top level."""

from __future__ import annotations

import datetime as dt
from functools import cache

from pydantic import BaseModel, Field, create_model

from retail_lake.api.schemas._tables import table_model


@cache
def insights_model() -> type[BaseModel]:
    """customer_profile's columns plus first/last purchase and the CLV predictions (once trained)."""
    return create_model(
        "CustomerInsights",
        __base__=table_model("customer_profile"),
        first_purchase=(dt.date, Field(description="Date of the customer's first invoice.")),
        last_purchase=(dt.date, Field(description="Date of the customer's last invoice.")),
        predicted_clv=(float | None, Field(None, description="Predicted spend over clv_horizon_days "
                                           "(customer_clv); null until training has run.")),
        probability_alive=(float | None, Field(None, description="Probability the customer is still active "
                                               "(customer_clv); null until training has run.")),
        clv_horizon_days=(int | None, Field(None, description="Horizon of predicted_clv in days.")),
        clv_model_version=(str | None, Field(None, description="Model version of the CLV prediction.")),
        predictions_available=(bool, Field(description="Whether customer_clv has been trained and read.")),
    )


class RetentionPoint(BaseModel):
    """One point of the retention curve (customers/retention-analysis)."""

    months_since_first: int = Field(description="Months after the customers' first purchase (0 = that month).")
    cohorts: int = Field(description="Cohorts (first-purchase months) observed this far.")
    cohort_customers: int = Field(description="Customers of those cohorts.")
    customers: int = Field(description="Of them, customers who bought in that month.")
    retention_rate: float | None = Field(description="customers / cohort_customers.")
    transactions: int
    revenue: float
    revenue_per_cohort_customer: float | None
