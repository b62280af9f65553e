"""Feature drift: the population stability index against the current version's snapshot, worked by hand."""

from __future__ import annotations

import math

import pytest

from retail_lake.models._registry import psi, psi_snapshot


def test_psi_of_the_same_distribution_is_zero() -> None:
    values = list(range(1, 101))
    assert psi(psi_snapshot(values, bins=4), values) == pytest.approx(0.0)


def test_psi_of_a_shift_by_hand() -> None:
    # Reference 1..100 in two bins split at the median 50.5: shares 0.5 / 0.5.
    reference = psi_snapshot(list(range(1, 101)), bins=2)
    assert reference["edges"] == [50.5] and reference["proportions"] == [0.5, 0.5]
    # Now 75 values below the edge and 25 above: (0.75 - 0.5) ln(0.75 / 0.5) + (0.25 - 0.5) ln(0.25 / 0.5).
    shifted = [10] * 75 + [90] * 25
    expected = 0.25 * math.log(1.5) + (-0.25) * math.log(0.5)
    assert psi(reference, shifted) == pytest.approx(expected)  # 0.2747: a major shift (> 0.25)


def test_missing_values_are_a_bin_of_their_own() -> None:
    reference = psi_snapshot([1.0, 2.0, 3.0, 4.0], bins=2)
    drifted = psi(reference, [1.0, 4.0, float("nan"), float("nan")])
    assert drifted is not None and drifted > 0.25
    assert psi(reference, []) is None and psi({}, [1.0]) is None
