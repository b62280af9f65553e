"""The campaign simulation's request and answer."""

from __future__ import annotations

from functools import cache
from importlib import resources
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from retail_lake import schemas

SpendTier = Literal["high", "medium", "low"]


@cache
def segment_names() -> tuple[str, ...]:
    """The RFM segments (reference/rfm_segments.yaml, the rules customer_rfm uses) and 'Unclassified'."""
    text = resources.files("retail_lake").joinpath("reference", "rfm_segments.yaml").read_text(encoding="utf-8")
    return (*(s["segment"] for s in schemas.load_yaml(text)["segments"]), "Unclassified")


Segment = Literal[segment_names()]  # type: ignore[valid-type]


class SegmentsTarget(BaseModel):
    """Every customer in one of these RFM segments."""

    model_config = ConfigDict(extra="forbid")
    segments: list[Segment] = Field(min_length=1, max_length=20, examples=[["At Risk", "Can't Lose Them"]])


class TopPercentTarget(BaseModel):
    """The top N % of customers by spend (customer_value's revenue rank)."""

    model_config = ConfigDict(extra="forbid")
    top_pct: float = Field(gt=0, le=100, description="Percent of customers, by spend (10 = the top 10 %).",
                           examples=[10])


class SpendTierTarget(BaseModel):
    """Every customer of one spend tier (high = top 20 %, medium = next 30 %, low = the rest)."""

    model_config = ConfigDict(extra="forbid")
    spend_tier: SpendTier = Field(examples=["high"])


Target = SegmentsTarget | TopPercentTarget | SpendTierTarget
# Also accepted at the top level of the body (the documented form nests them under "target").
_FLAT_TARGETS = {"segments": "segments", "segment": "segments", "top_pct": "top_pct", "top_n_pct": "top_pct",
                 "top_percent": "top_pct", "spend_tier": "spend_tier", "tier": "spend_tier"}


class CampaignRequest(BaseModel):
    """A campaign to simulate: who is targeted and how the offer is assumed to work."""

    model_config = ConfigDict(json_schema_extra={"examples": [{
        "target": {"segments": ["At Risk", "Can't Lose Them"]}, "discount_rate": 0.15, "response_rate": 0.2,
        "uplift": 0.3, "cost_per_contact": 0.5, "horizon_days": 90}]})

    target: Target = Field(description="Exactly one of: {\"segments\": [...]}, {\"top_pct\": N} or "
                           "{\"spend_tier\": \"high\"|\"medium\"|\"low\"}.")
    discount_rate: float = Field(0.1, ge=0, lt=1, description="Discount given on responders' purchases (0-1).")
    response_rate: float = Field(0.2, ge=0, le=1, description="Share of targeted customers who respond (0-1).")
    uplift: float = Field(0.1, ge=0, le=100, description="Extra spend of a responder over their baseline "
                          "(0.3 = +30 %).")
    cost_per_contact: float = Field(0.5, ge=0, le=1_000_000, description="Cost of contacting one customer.")
    horizon_days: int = Field(90, ge=1, le=3650, description="Days the campaign's effect is counted over.")
    baseline: Literal["auto", "history", "clv"] = Field(
        "auto", description="Baseline revenue from 'history' (the group's daily revenue so far), 'clv' "
        "(customer_clv predictions; 503 until trained) or 'auto' (clv when trained, else history).")

    @model_validator(mode="before")
    @classmethod
    def _fold_flat_target(cls, data: Any) -> Any:
        """{"segments": [...], ...} (or {"target": "segments", "segments": [...]}) -> {"target": {...}}."""
        if not isinstance(data, dict):
            return data
        data = dict(data)
        target = data.get("target")
        flat = [k for k in _FLAT_TARGETS if k in data]
        if (target is None or isinstance(target, str)) and flat:
            chosen = [k for k in flat if target is None or _FLAT_TARGETS[k] == _FLAT_TARGETS.get(target, target)]
            if len(chosen) == 1:
                value = data.pop(chosen[0])
                data["target"] = {_FLAT_TARGETS[chosen[0]]: value}
        if isinstance(data.get("target"), dict) and "segments" in data["target"]:
            data["target"] = dict(data["target"], segments=_canonical_segments(data["target"]["segments"]))
        return data


def _canonical_segments(value: Any) -> Any:
    """Segment names matched case-insensitively; a comma-separated string is a list."""
    if isinstance(value, str):
        value = [v.strip() for v in value.split(",") if v.strip()]
    if not isinstance(value, list):
        return value
    by_lower = {s.lower(): s for s in segment_names()}
    return [by_lower.get(v.strip().lower(), v) if isinstance(v, str) else v for v in value]


class CampaignTargetEcho(BaseModel):
    kind: Literal["segments", "top_pct", "spend_tier"]
    segments: list[str] | None = None
    top_pct: float | None = None
    spend_tier: str | None = None
    description: str


class CampaignAssumptions(BaseModel):
    discount_rate: float
    response_rate: float
    uplift: float
    cost_per_contact: float
    horizon_days: int
    baseline_requested: str
    notes: list[str]


class CampaignResult(BaseModel):
    """The simulated outcome, with the inputs and every assumption behind it echoed back."""

    target: CampaignTargetEcho
    customers_targeted: int
    expected_responders: float
    baseline_revenue: float = Field(description="The targeted customers' revenue over the horizon without "
                                    "the campaign.")
    baseline_source: Literal["history", "clv_predictions", "clv_predictions+history"]
    baseline_note: str
    responders_baseline_revenue: float
    responders_purchases: float
    projected_revenue: float
    incremental_revenue: float
    discount_cost: float
    contact_cost: float
    campaign_cost: float
    margin_rate: float = Field(description="Margin / revenue used (profitability, overall).")
    margin_basis: Literal["actual", "assumed"] = Field(description="'actual' when every line had unit_cost, "
                                                      "else 'assumed' (reference/cost_assumptions.yaml).")
    baseline_margin: float
    incremental_gross_margin: float
    incremental_margin: float = Field(description="Margin on the uplift less discount and contact costs.")
    projected_margin: float
    roi: float | None = Field(description="incremental_margin / (discount_cost + contact_cost); null when the "
                              "campaign costs nothing.")
    break_even_response_rate: float | None = Field(description="Response rate at which incremental_margin = 0; "
                                                   "null when no rate breaks even.")
    break_even_possible: bool
    assumptions: CampaignAssumptions
    tables: dict[str, str | None] = Field(description="Run id of every table the answer read.")
