"""BG/NBD, MBG/NBD and Gamma-Gamma: "buy till you die" models of repeat purchases and spend, with scipy.

Our own implementation (no lifetimes / pymc-marketing dependency: both pull pandas and more into the
image). Formulas and their published figures:

- BG/NBD: Fader, Hardie & Lee (2005), "Counting Your Customers the Easy Way", Marketing Science
  24(2). CDNOW: r=0.243, alpha=4.414, a=0.793, b=2.426 (time in weeks).
- MBG/NBD: Batislam, Denizel & Filiztekin (2007), "Empirical validation and comparison of models
  for customer base analysis", IJRM 24(3). A customer may also drop out right after the first
  purchase, so a one-time buyer is *not* certainly alive (BG/NBD says P(alive | x=0) = 1, the
  pitfall users of lifetimes meet); this is the variant that serves probability_alive.
- Gamma-Gamma: Fader & Hardie (2013), "The Gamma-Gamma Model of Monetary Value". CDNOW:
  p=6.25, q=3.74, gamma(v)=15.44.

Inputs per customer: ``x`` repeat purchases (purchase days after the first one), ``t_x`` time of the
last purchase and ``T`` age at the cut-off, both measured from the first purchase, in weeks.

The hypergeometric terms are evaluated after Pfaff's transformation,
``(1-z)^(r+x) 2F1(r+x, b+x; c; z) = 2F1(r+x, a-1; c; z/(z-1))``, whose second parameter is small: the
textbook form multiplies a huge 2F1 by a tiny power and overflows for frequent buyers.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any

import numpy as np
from scipy import optimize, special

__all__ = ["BetaGeo", "FitReport", "GammaGamma", "fit_with_retries"]

# Retry ladder for fits that do not converge: an L2 penalty on the log-parameters pulls them towards 1.
PENALTIES = (0.0, 0.001, 0.01, 0.1, 1.0)
_LOG_BOUND = 15.0  # the optimiser's box on log-parameters
# A parameter beyond 1e-4 .. 1e4 (time in weeks, money in units of the mean spend) means the likelihood is
# flat in that direction (e.g. nobody bought twice, so dropout cannot be told from a low rate): the fit is
# treated as not converged and retried with a penalty, which keeps the parameters finite and sensible.
_RUNAWAY = 9.2


@dataclass
class FitReport:
    """How a fit went: written to metrics.json so a non-converged fit is visible, not silent."""

    converged: bool
    penalizer: float
    attempts: int
    log_likelihood: float
    message: str
    tried: list[dict[str, Any]] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


def fit_with_retries(
    objective, n_params: int, penalties: tuple[float, ...] = PENALTIES, start: np.ndarray | None = None
) -> tuple[np.ndarray, FitReport]:
    """Minimise ``objective(theta) -> mean negative log-likelihood`` over log-parameters.

    An attempt counts as converged when the optimiser says so, the value is finite and no parameter ran
    to a bound; otherwise the next attempt adds a larger penalty. The last attempt's parameters are
    returned either way, with the report saying which penalty was used and whether it converged.
    """
    x0 = np.zeros(n_params) if start is None else np.asarray(start, dtype=float)
    bounds = [(-_LOG_BOUND, _LOG_BOUND)] * n_params
    tried: list[dict[str, Any]] = []
    theta = x0
    value = float("nan")
    message = ""
    for attempt, penalty in enumerate(penalties, start=1):

        def penalised(t: np.ndarray, penalty: float = penalty) -> float:
            v = objective(t)
            return float(v + penalty * np.sum(t * t)) if np.isfinite(v) else 1e300

        result = optimize.minimize(
            penalised, x0, method="L-BFGS-B", bounds=bounds, options={"maxiter": 500, "gtol": 1e-8}
        )
        theta = result.x
        value = float(objective(theta))
        at_bound = bool(np.any(np.abs(theta) > _RUNAWAY))
        ok = bool(result.success) and np.isfinite(value) and not at_bound
        message = str(result.message) if not at_bound else "a parameter ran off to 0 or infinity"
        tried.append(
            {
                "penalizer": penalty,
                "converged": ok,
                "message": message,
                "neg_log_likelihood": value if np.isfinite(value) else None,
            }
        )
        if ok:
            return theta, FitReport(True, penalty, attempt, -value, message, tried)
    return theta, FitReport(
        False, penalties[-1], len(penalties), -value if np.isfinite(value) else float("nan"), message, tried
    )


def _as_arrays(*values: Any) -> list[np.ndarray]:
    return [np.asarray(v, dtype=float) for v in values]


@dataclass
class BetaGeo:
    """BG/NBD (``variant='bgnbd'``) or MBG/NBD (``variant='mbgnbd'``) with parameters r, alpha, a, b."""

    r: float = 1.0
    alpha: float = 1.0
    a: float = 1.0
    b: float = 1.0
    variant: str = "mbgnbd"
    report: FitReport | None = None

    def __post_init__(self) -> None:
        if self.variant not in ("bgnbd", "mbgnbd"):
            raise ValueError(f"variant must be 'bgnbd' or 'mbgnbd', not {self.variant!r}")

    @property
    def params(self) -> dict[str, float]:
        return {"r": self.r, "alpha": self.alpha, "a": self.a, "b": self.b}

    # -- likelihood ------------------------------------------------------------------------------

    @staticmethod
    def log_likelihood_terms(
        params: tuple[float, float, float, float], x: Any, t_x: Any, T: Any, variant: str = "bgnbd"
    ) -> np.ndarray:
        """Each customer's log-likelihood (FHL 2005 eq. 6; Batislam et al. 2007 for MBG/NBD)."""
        r, alpha, a, b = params
        x, t_x, T = _as_arrays(x, t_x, T)
        common = special.gammaln(r + x) - special.gammaln(r) + r * np.log(alpha)
        alive = -(r + x) * np.log(alpha + T)
        died = -(r + x) * np.log(alpha + t_x)
        if variant == "bgnbd":
            head = special.betaln(a, b + x) - special.betaln(a, b)
            with np.errstate(divide="ignore", invalid="ignore"):
                drop = np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + died, -np.inf)
        else:
            head = special.betaln(a, b + x + 1) - special.betaln(a, b)
            drop = np.log(a) - np.log(b + x) + died
        return head + common + np.logaddexp(alive, drop)

    def log_likelihood(self, x: Any, t_x: Any, T: Any) -> float:
        return float(np.sum(self.log_likelihood_terms((self.r, self.alpha, self.a, self.b), x, t_x, T, self.variant)))

    def fit(self, x: Any, t_x: Any, T: Any, weights: Any = None, penalties: tuple[float, ...] = PENALTIES) -> BetaGeo:
        """Maximum likelihood on log-parameters; retried with a penalty when it does not converge."""
        x, t_x, T = _as_arrays(x, t_x, T)
        w = np.ones_like(x) if weights is None else np.asarray(weights, dtype=float)
        total = max(float(w.sum()), 1.0)

        def objective(theta: np.ndarray) -> float:
            with np.errstate(all="ignore"):
                ll = self.log_likelihood_terms(tuple(np.exp(theta)), x, t_x, T, self.variant)
            return float(-np.dot(w, ll) / total)

        theta, self.report = fit_with_retries(objective, 4, penalties)
        self.report.log_likelihood *= total  # the sum over customers, not the mean the optimiser saw
        self.r, self.alpha, self.a, self.b = (float(v) for v in np.exp(theta))
        return self

    # -- predictions -----------------------------------------------------------------------------

    @property
    def _a(self) -> float:
        """a, kept off 1: the closed forms divide by a - 1 (their limit there is finite)."""
        return self.a if abs(self.a - 1.0) > 1e-6 else 1.0 + 1e-6

    def expected_transactions(self, t: Any) -> np.ndarray:
        """E[X(t)]: repeat purchases in (0, t] of a customer who just made a first purchase."""
        r, alpha, a, b = self.r, self.alpha, self._a, self.b
        t = np.asarray(t, dtype=float)
        if self.variant == "bgnbd":
            return (a + b - 1) / (a - 1) * (1 - special.hyp2f1(r, a - 1, a + b - 1, -t / alpha))
        return b / (a - 1) * (1 - special.hyp2f1(r, a - 1, a + b, -t / alpha))

    def _log_odds_dead(self, x: np.ndarray, t_x: np.ndarray, T: np.ndarray) -> np.ndarray:
        r, alpha, a, b = self.r, self.alpha, self.a, self.b
        power = (r + x) * (np.log(alpha + T) - np.log(alpha + t_x))
        if self.variant == "bgnbd":
            with np.errstate(divide="ignore", invalid="ignore"):
                return np.where(x > 0, np.log(a) - np.log(np.maximum(b + x - 1, 1e-300)) + power, -np.inf)
        return np.log(a) - np.log(b + x) + power

    def probability_alive(self, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """P(alive at T | x, t_x, T). BG/NBD gives exactly 1 for x = 0; MBG/NBD does not."""
        x, t_x, T = _as_arrays(x, t_x, T)
        return special.expit(-self._log_odds_dead(x, t_x, T))

    def conditional_expected_transactions(self, t: Any, x: Any, t_x: Any, T: Any) -> np.ndarray:
        """E[Y(t) | x, t_x, T]: purchases in (T, T + t] (FHL 2005 eq. 10; MBG/NBD analogue)."""
        r, alpha, a, b = self.r, self.alpha, self._a, self.b
        t, x, t_x, T = _as_arrays(t, x, t_x, T)
        c = a + b + x - 1 if self.variant == "bgnbd" else a + b + x
        # (1-z)^(r+x) 2F1(r+x, b+x(+1); c; z) with z = t/(alpha+T+t), after Pfaff's transformation.
        tail = special.hyp2f1(r + x, a - 1, c, -t / (alpha + T))
        return c / (a - 1) * (1 - tail) * self.probability_alive(x, t_x, T)

    def to_dict(self) -> dict[str, Any]:
        return {"variant": self.variant, **self.params, "fit": self.report.to_dict() if self.report else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> BetaGeo:
        return cls(r=data["r"], alpha=data["alpha"], a=data["a"], b=data["b"], variant=data["variant"])


@dataclass
class GammaGamma:
    """Gamma-Gamma spend per transaction: customer means vary around p*v/(q-1) (q > 1 by construction)."""

    p: float = 1.0
    q: float = 2.0
    v: float = 1.0
    report: FitReport | None = None

    @property
    def params(self) -> dict[str, float]:
        return {"p": self.p, "q": self.q, "v": self.v}

    @staticmethod
    def log_likelihood_terms(params: tuple[float, float, float], n: Any, mean_value: Any) -> np.ndarray:
        """log f(m_x | p, q, v; x) for customers with x = n >= 1 transactions of mean value m_x."""
        p, q, v = params
        n, m = _as_arrays(n, mean_value)
        px = p * n
        return (
            special.gammaln(px + q)
            - special.gammaln(px)
            - special.gammaln(q)
            + q * np.log(v)
            + (px - 1) * np.log(m)
            + px * np.log(n)
            - (px + q) * np.log(v + n * m)
        )

    def log_likelihood(self, n: Any, mean_value: Any) -> float:
        return float(np.sum(self.log_likelihood_terms((self.p, self.q, self.v), n, mean_value)))

    def fit(self, n: Any, mean_value: Any, penalties: tuple[float, ...] = PENALTIES) -> GammaGamma:
        """Fit on customers with n >= 1 transactions and a positive mean value (others carry no spend)."""
        n, m = _as_arrays(n, mean_value)
        keep = (n >= 1) & (m > 0) & np.isfinite(m)
        n, m = n[keep], m[keep]
        scale = float(np.mean(m)) if m.size else 1.0  # fit in units of the mean spend: better conditioned

        def objective(theta: np.ndarray) -> float:
            p, q, v = np.exp(theta[0]), 1.0 + np.exp(theta[1]), np.exp(theta[2])
            with np.errstate(all="ignore"):
                ll = self.log_likelihood_terms((p, q, v), n, m / scale)
            return float(-np.mean(ll)) if ll.size else 0.0

        theta, self.report = fit_with_retries(objective, 3, penalties)
        self.p, self.q, self.v = float(np.exp(theta[0])), float(1.0 + np.exp(theta[1])), float(np.exp(theta[2]) * scale)
        if self.report is not None and np.isfinite(self.report.log_likelihood):
            # Back to the original money units: each density picks up a 1/scale Jacobian.
            self.report.log_likelihood = float(self.report.log_likelihood * len(m) - len(m) * np.log(scale))
        return self

    @property
    def population_mean(self) -> float:
        """E[M] = p v / (q - 1): what a customer with no usable history is expected to spend per purchase."""
        return self.p * self.v / (self.q - 1)

    def conditional_expected_value(self, n: Any, mean_value: Any) -> np.ndarray:
        """E[M | n, m_n] = (p v + p n m_n) / (p n + q - 1): shrinks a short history towards the population mean."""
        n, m = _as_arrays(n, mean_value)
        m = np.where(n > 0, np.nan_to_num(m), 0.0)
        return (self.p * self.v + self.p * n * m) / (self.p * n + self.q - 1)

    def to_dict(self) -> dict[str, Any]:
        return {**self.params, "fit": self.report.to_dict() if self.report else None}

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> GammaGamma:
        return cls(p=data["p"], q=data["q"], v=data["v"])
