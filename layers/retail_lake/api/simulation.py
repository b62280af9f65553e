"""Campaign simulation arithmetic: pure functions, no I/O (the route gathers the inputs from the lake).

The model, for a group of ``customers`` whose revenue over the horizon would be ``baseline``
without the campaign, all of them contacted:

    responders' baseline   Br = baseline * response_rate          (responders are average members)
    responders' purchases  G  = Br * (1 + uplift)                 (at list price: the uplift buys more)
    discount cost          D  = G * discount_rate                 (every responder purchase is discounted,
                                                                   also the ones they would have made anyway)
    projected revenue      P  = baseline - Br + G - D
    contact cost           C  = customers * cost_per_contact
    incremental margin     M  = Br * uplift * margin_rate - D - C (margin on the extra goods, less the
                                                                   campaign's discount and contact costs)
    ROI                       = M / (D + C)                       (None when the campaign costs nothing)
    break-even response rate  = C / (baseline * (uplift * margin_rate - (1 + uplift) * discount_rate))

The break-even rate is the response rate at which M = 0 (M is linear in it); when the margin on the
uplift does not cover the discount, no response rate breaks even (None).
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any


@dataclass(frozen=True)
class CampaignInputs:
    customers: int
    baseline_revenue: float
    margin_rate: float
    discount_rate: float
    response_rate: float
    uplift: float
    cost_per_contact: float


@dataclass(frozen=True)
class CampaignOutcome:
    customers_targeted: int
    expected_responders: float
    baseline_revenue: float
    responders_baseline_revenue: float
    responders_purchases: float
    projected_revenue: float
    incremental_revenue: float
    discount_cost: float
    contact_cost: float
    campaign_cost: float
    margin_rate: float
    baseline_margin: float
    incremental_gross_margin: float
    incremental_margin: float
    projected_margin: float
    roi: float | None
    break_even_response_rate: float | None
    break_even_possible: bool

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)


def simulate(inputs: CampaignInputs) -> CampaignOutcome:
    """The outcome of one campaign (see the module docstring for every formula)."""
    b, m = float(inputs.baseline_revenue), float(inputs.margin_rate)
    d, r, u = float(inputs.discount_rate), float(inputs.response_rate), float(inputs.uplift)
    responders_baseline = b * r
    purchases = responders_baseline * (1 + u)
    discount_cost = purchases * d
    projected = b - responders_baseline + purchases - discount_cost
    contact_cost = inputs.customers * float(inputs.cost_per_contact)
    gross_margin = responders_baseline * u * m
    incremental_margin = gross_margin - discount_cost - contact_cost
    campaign_cost = discount_cost + contact_cost
    per_response = b * (u * m - (1 + u) * d)  # incremental margin per unit of response rate, before contacts
    if per_response > 0:
        break_even: float | None = contact_cost / per_response
    elif contact_cost == 0 and per_response == 0:
        break_even = 0.0
    else:
        break_even = None
    return CampaignOutcome(
        customers_targeted=inputs.customers,
        expected_responders=inputs.customers * r,
        baseline_revenue=b,
        responders_baseline_revenue=responders_baseline,
        responders_purchases=purchases,
        projected_revenue=projected,
        incremental_revenue=projected - b,
        discount_cost=discount_cost,
        contact_cost=contact_cost,
        campaign_cost=campaign_cost,
        margin_rate=m,
        baseline_margin=b * m,
        incremental_gross_margin=gross_margin,
        incremental_margin=incremental_margin,
        projected_margin=b * m + incremental_margin,
        roi=incremental_margin / campaign_cost if campaign_cost > 0 else None,
        break_even_response_rate=break_even,
        break_even_possible=break_even is not None and break_even <= 1,
    )


def history_baseline(revenue: float, observed_days: int, horizon_days: int) -> float:
    """Revenue over ``horizon_days`` at the group's average daily revenue over the observed history."""
    return float(revenue) * horizon_days / max(int(observed_days), 1)


def clv_baseline(predicted_spend: float, predicted_horizon_days: int, horizon_days: int) -> float:
    """Predicted spend scaled from the model's horizon to the campaign's (linearly)."""
    return float(predicted_spend) * horizon_days / max(int(predicted_horizon_days), 1)
