"""BG/NBD, MBG/NBD and Gamma-Gamma against published figures and against their own definitions.

Published figures (CDNOW, time in weeks): Fader, Hardie & Lee (2005) parameters r=0.243,
alpha=4.414, a=0.793, b=2.426 and the values of Hardie's spreadsheet for them (E[X(t)] and the
conditional expectation of a customer with x=2, t_x=30.43, T=38.86); Fader & Hardie (2013)
Gamma-Gamma p=6.25, q=3.74, v=15.44 and the spreadsheet's E[M] of the first ten CDNOW customers.
The published values come from unrounded parameters, hence tolerances of the rounding's size.
The closed forms are also checked against direct numerical integration of the models' definitions.
"""

from __future__ import annotations

import numpy as np
import pytest
from scipy import integrate, stats

from retail_lake.models._btyd import BetaGeo, GammaGamma

CDNOW = {"r": 0.243, "alpha": 4.414, "a": 0.793, "b": 2.426}


def test_bgnbd_expected_transactions_match_hardies_sheet() -> None:
    model = BetaGeo(**CDNOW, variant="bgnbd")
    times = np.array([0.1429, 1.0, 3.00, 31.8571, 32.00, 78.00])
    published = np.array([0.0078, 0.0532, 0.1506, 1.0405, 1.0437, 1.8576])
    np.testing.assert_allclose(model.expected_transactions(times), published, rtol=2e-3, atol=1e-4)


def test_bgnbd_conditional_expectation_matches_hardies_sheet() -> None:
    model = BetaGeo(**CDNOW, variant="bgnbd")
    assert model.conditional_expected_transactions(39, 2, 30.43, 38.86) == pytest.approx(1.226, abs=1e-3)


def test_bgnbd_textbook_and_transformed_hypergeometric_agree() -> None:
    """The implementation uses Pfaff's transformation; FHL 2005 eq. 10 as printed must give the same."""
    from scipy import special

    r, alpha, a, b = CDNOW.values()
    model = BetaGeo(**CDNOW, variant="bgnbd")
    for x, t_x, T, t in [(2, 30.43, 38.86, 39), (0, 0, 20, 10), (7, 35, 38.86, 52), (30, 38, 38.86, 10)]:
        z = t / (alpha + T + t)
        head = (
            (a + b + x - 1)
            / (a - 1)
            * (1 - ((alpha + T) / (alpha + T + t)) ** (r + x) * special.hyp2f1(r + x, b + x, a + b + x - 1, z))
        )
        alive = 1 / (1 + (x > 0) * a / (b + x - 1) * ((alpha + T) / (alpha + t_x)) ** (r + x))
        assert model.conditional_expected_transactions(t, x, t_x, T) == pytest.approx(head * alive, rel=1e-9)


# Parameters without the integrable singularities of CDNOW's (r < 1, a < 1), for quadrature.
SMOOTH = {"r": 2.2, "alpha": 6.0, "a": 1.8, "b": 3.5}


def _posterior_integral(fn, x: float, t_x: float, T: float, variant: str) -> tuple[float, float]:
    """(marginal likelihood, integral of fn * alive-likelihood) over lambda ~ Gamma(r, alpha) and
    p ~ Beta(a, b), by Gauss-Legendre quadrature on a fine grid (the integrands are smooth here)."""
    r, alpha, a, b = SMOOTH.values()
    extra = 1 if variant == "mbgnbd" else 0
    nodes, weights = np.polynomial.legendre.leggauss(400)
    lam = 0.5 * (nodes + 1) * 12.0  # lambda in [0, 12]: the prior's mass beyond is ~1e-25
    w_lam = 0.5 * weights * 12.0
    p = 0.5 * (nodes + 1)
    w_p = 0.5 * weights
    L, P = np.meshgrid(lam, p, indexing="ij")
    prior = stats.gamma.pdf(L, r, scale=1 / alpha) * stats.beta.pdf(P, a, b) * np.outer(w_lam, w_p)
    alive = (1 - P) ** (x + extra) * L**x * np.exp(-L * T)
    died = (
        np.zeros_like(L) if variant == "bgnbd" and x == 0 else P * (1 - P) ** (x - 1 + extra) * L**x * np.exp(-L * t_x)
    )
    return float(np.sum((alive + died) * prior)), float(np.sum(fn(L, P) * alive * prior))


@pytest.mark.parametrize("variant", ["bgnbd", "mbgnbd"])
@pytest.mark.parametrize(("x", "t_x", "T"), [(0, 0.0, 10.0), (3, 6.0, 12.0)])
def test_likelihood_alive_and_expectation_match_the_model_definition(
    variant: str, x: int, t_x: float, T: float
) -> None:
    """Closed forms vs quadrature of the individual model: purchases at rate lambda, dropout with
    probability p after each repeat purchase (MBG/NBD: also right after the first one)."""
    model = BetaGeo(**SMOOTH, variant=variant)
    t = 8.0
    like, alive_mass = _posterior_integral(lambda lam, p: 1.0, x, t_x, T, variant)
    _, future = _posterior_integral(lambda lam, p: (1 - np.exp(-lam * p * t)) / p, x, t_x, T, variant)
    assert np.exp(model.log_likelihood([x], [t_x], [T])) == pytest.approx(like, rel=1e-6)
    assert model.probability_alive([x], [t_x], [T])[0] == pytest.approx(alive_mass / like, rel=1e-6)
    assert model.conditional_expected_transactions(t, [x], [t_x], [T])[0] == pytest.approx(future / like, rel=1e-5)


def test_one_time_buyers_are_not_certainly_alive_under_mbgnbd() -> None:
    """The pitfall: BG/NBD says P(alive | no repeat purchase) = 1 however long ago the purchase was."""
    T = np.array([1.0, 10.0, 50.0])
    zeros = np.zeros(3)
    assert np.all(BetaGeo(**CDNOW, variant="bgnbd").probability_alive(zeros, zeros, T) == 1.0)
    served = BetaGeo(**CDNOW, variant="mbgnbd").probability_alive(zeros, zeros, T)
    assert np.all(served < 1.0) and np.all(served > 0.0)
    assert served[0] > served[1] > served[2]  # the longer the silence, the less likely alive


def simulate(
    params: dict[str, float], n: int, T: np.ndarray, rng: np.random.Generator, variant: str
) -> tuple[np.ndarray, np.ndarray]:
    """(x, t_x) of n customers drawn from the model itself."""
    lam = rng.gamma(params["r"], 1 / params["alpha"], n)
    p = rng.beta(params["a"], params["b"], n)
    x = np.zeros(n)
    t_x = np.zeros(n)
    now = np.zeros(n)
    alive = rng.random(n) >= p if variant == "mbgnbd" else np.ones(n, bool)
    while alive.any():
        now = now + rng.exponential(1 / np.maximum(lam, 1e-12))
        bought = alive & (now <= T)
        x[bought] += 1
        t_x[bought] = now[bought]
        alive = bought & (rng.random(n) >= p)
    return x, t_x


@pytest.mark.parametrize("variant", ["bgnbd", "mbgnbd"])
def test_fit_recovers_the_parameters_it_simulated(variant: str) -> None:
    rng = np.random.default_rng(2)
    T = rng.uniform(26, 39, 10_000)
    x, t_x = simulate(CDNOW, 10_000, T, rng, variant)
    fitted = BetaGeo(variant=variant).fit(x, t_x, T)
    assert fitted.report.converged and fitted.report.penalizer == 0
    # MLE noise on 10,000 customers: r, alpha and the mean dropout a / (a + b) are pinned tightly,
    # a and b separately much less (their ratio is what the data sees).
    assert fitted.r == pytest.approx(CDNOW["r"], rel=0.15)
    assert fitted.alpha == pytest.approx(CDNOW["alpha"], rel=0.15)
    dropout = CDNOW["a"] / (CDNOW["a"] + CDNOW["b"])
    assert fitted.a / (fitted.a + fitted.b) == pytest.approx(dropout, rel=0.15)
    assert fitted.a == pytest.approx(CDNOW["a"], rel=0.5) and fitted.b == pytest.approx(CDNOW["b"], rel=0.5)
    # The fitted model predicts the simulated population's purchases.
    assert fitted.expected_transactions(T).sum() == pytest.approx(x.sum(), rel=0.05)


def test_a_fit_that_runs_away_is_retried_with_a_penalty_and_says_so() -> None:
    """Nobody bought twice: BG/NBD's likelihood is maximised as r -> 0 (flat in a, b)."""
    T = np.linspace(1, 50, 200)
    zeros = np.zeros(200)
    model = BetaGeo(variant="bgnbd").fit(zeros, zeros, T)
    report = model.report
    assert report.attempts >= 2 and report.penalizer > 0
    assert not report.tried[0]["converged"] and report.tried[-1]["converged"]
    assert report.to_dict()["tried"][0]["penalizer"] == 0.0
    assert all(np.isfinite(v) and v > 0 for v in model.params.values())
    assert np.isfinite(model.conditional_expected_transactions(10, [0], [0], [10])).all()


# --- Gamma-Gamma -------------------------------------------------------------------------------

# The first ten CDNOW customers (repeat transactions x, their mean value) and E[M] from Hardie's sheet.
GG_X = np.array([2, 1, 0, 0, 0, 7, 1, 0, 2, 0])
GG_M = np.array([22.35, 11.77, 0, 0, 0, 73.74, 11.77, 0, 25.55, 0])
GG_PUBLISHED = np.array([24.65, 18.91, 35.17, 35.17, 35.17, 71.46, 18.91, 35.17, 27.28, 35.17])


def test_gamma_gamma_conditional_expectation_matches_hardies_sheet() -> None:
    model = GammaGamma(p=6.25, q=3.74, v=15.44)
    np.testing.assert_allclose(model.conditional_expected_value(GG_X, GG_M), GG_PUBLISHED, atol=0.1)
    assert model.population_mean == pytest.approx(6.25 * 15.44 / 2.74)


def test_gamma_gamma_likelihood_matches_its_definition() -> None:
    """z_i ~ Gamma(p, nu), nu ~ Gamma(q, v): the mean of n draws has the closed-form density."""
    p, q, v = 6.25, 3.74, 15.44
    model = GammaGamma(p=p, q=q, v=v)
    for n, m in [(1, 30.0), (4, 12.5), (9, 80.0)]:
        # the mean of n Gamma(p, nu) draws is Gamma(n p, n nu)
        density = integrate.quad(
            lambda nu, n=n, m=m: stats.gamma.pdf(m, n * p, scale=1 / (n * nu)) * stats.gamma.pdf(nu, q, scale=1 / v),
            0,
            np.inf,
            epsabs=1e-14,
        )[0]
        assert np.exp(model.log_likelihood([n], [m])) == pytest.approx(density, rel=1e-6)


def test_gamma_gamma_fit_recovers_simulated_parameters_and_stays_positive() -> None:
    rng = np.random.default_rng(11)
    n = rng.integers(1, 10, 4000)
    nu = rng.gamma(3.74, 1 / 15.44, 4000)
    means = np.array([rng.gamma(6.25, 1 / nu_i, k).mean() for nu_i, k in zip(nu, n, strict=True)])
    fitted = GammaGamma().fit(n, means)
    assert fitted.report.converged
    assert fitted.population_mean == pytest.approx(6.25 * 15.44 / 2.74, rel=0.1)
    assert fitted.q > 1  # by construction: E[M] = p v / (q - 1) is finite and positive
    assert np.all(fitted.conditional_expected_value(n, means) > 0)
