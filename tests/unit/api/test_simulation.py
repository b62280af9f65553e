"""The campaign arithmetic (retail_lake.api.simulation), worked out by hand."""

from __future__ import annotations

import pytest

from retail_lake.api.simulation import CampaignInputs, clv_baseline, history_baseline, simulate


def test_a_campaign_by_hand() -> None:
    """100 customers, baseline 10,000, margin 40 %, 10 % discount, 30 % respond, +50 % uplift, 1 per contact.

    responders' baseline 3,000; their purchases 4,500; discount 450; projected 10,000 - 3,000 + 4,500
    - 450 = 11,050; contacts 100; margin on the uplift 3,000 * 0.5 * 0.4 = 600; incremental margin
    600 - 450 - 100 = 50; ROI 50 / 550; break-even 100 / (10,000 * (0.5 * 0.4 - 1.5 * 0.1)) = 0.2.
    """
    out = simulate(CampaignInputs(customers=100, baseline_revenue=10_000, margin_rate=0.4, discount_rate=0.1,
                                  response_rate=0.3, uplift=0.5, cost_per_contact=1))
    assert out.expected_responders == pytest.approx(30)
    assert out.responders_baseline_revenue == pytest.approx(3_000)
    assert out.responders_purchases == pytest.approx(4_500)
    assert out.discount_cost == pytest.approx(450)
    assert out.projected_revenue == pytest.approx(11_050)
    assert out.incremental_revenue == pytest.approx(1_050)
    assert out.contact_cost == pytest.approx(100)
    assert out.campaign_cost == pytest.approx(550)
    assert out.incremental_gross_margin == pytest.approx(600)
    assert out.incremental_margin == pytest.approx(50)
    assert out.baseline_margin == pytest.approx(4_000)
    assert out.projected_margin == pytest.approx(4_050)
    assert out.roi == pytest.approx(50 / 550)
    assert out.break_even_response_rate == pytest.approx(0.2)
    assert out.break_even_possible


def test_at_the_break_even_rate_the_margin_is_zero() -> None:
    out = simulate(CampaignInputs(100, 10_000, 0.4, 0.1, 0.2, 0.5, 1))
    assert out.incremental_margin == pytest.approx(0)
    assert out.roi == pytest.approx(0)


def test_a_discount_larger_than_the_margin_on_the_uplift_never_breaks_even() -> None:
    # uplift 0.1 * margin 0.3 = 0.03 < (1.1) * 0.2 = 0.22
    out = simulate(CampaignInputs(10, 1_000, 0.3, 0.2, 0.5, 0.1, 0))
    assert out.break_even_response_rate is None and not out.break_even_possible
    assert out.incremental_margin == pytest.approx(500 * 0.1 * 0.3 - 550 * 0.2)


def test_nothing_targeted_costs_nothing() -> None:
    out = simulate(CampaignInputs(0, 0, 0.4, 0.1, 0.2, 0.1, 1))
    assert (out.campaign_cost, out.roi, out.incremental_margin) == (0, None, 0)


def test_baselines() -> None:
    assert history_baseline(3_650, observed_days=365, horizon_days=90) == pytest.approx(900)
    assert clv_baseline(200, predicted_horizon_days=90, horizon_days=30) == pytest.approx(200 / 3)
