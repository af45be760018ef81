"""The shared statistics helpers: the crossing of a level interpolated on log x; a t statistic
mapped to the normal z of the same two-sided p-value."""

from __future__ import annotations

import math

import numpy as np
import pytest

from companion.stats import (
    BELOW_AT_START,
    CROSSED,
    NEVER_BELOW,
    log_crossing,
    normal_equivalent_z,
)

GRID = [50.0, 100.0, 200.0, 400.0]


def test_crossing_is_interpolated_on_log_x() -> None:
    # 0.3 at 100, 0.0 at 200: a third of the way from 0.3 to 0 on log x, i.e. 100 * 2^(2/3).
    values, flags = log_crossing(GRID, [0.4, 0.3, 0.0, 0.0], 0.2)
    assert flags == CROSSED
    assert values == pytest.approx(100.0 * 2.0 ** (1.0 / 3.0))
    # A law y = a - b log x crossed exactly: the interpolation recovers its root.
    a, b, level = 0.9, 0.15, 0.1
    law = a - b * np.log(GRID)
    values, _ = log_crossing(GRID, law, level)
    assert values == pytest.approx(math.exp((a - level) / b))


def test_first_crossing_counts_and_the_bracket_is_the_step_before() -> None:
    # Below at 100, back above at 200, below again at 400: the first crossing is reported.
    values, flags = log_crossing(GRID, [0.5, 0.0, 0.5, 0.0], 0.25)
    assert flags == CROSSED
    assert values == pytest.approx(50.0 * 2.0 ** 0.5)


def test_strictly_below_and_the_equal_boundary() -> None:
    # Equal to the level is not below it: the crossing is later.
    values, flags = log_crossing(GRID, [0.4, 0.1, 0.1, 0.0], 0.1)
    assert flags == CROSSED and values == pytest.approx(200.0)
    # Just below the level at a grid point: the crossing is an ulp above the point before it.
    values, _ = log_crossing(GRID, [0.4, 0.1, np.nextafter(0.1, 0.0), 0.0], 0.1)
    assert values == pytest.approx(100.0, rel=1e-12)
    values, flags = log_crossing(GRID, [0.1, 0.0, 0.0, 0.0], 0.1)
    assert flags == CROSSED and values == pytest.approx(50.0)


def test_censored_curves_are_flagged_not_dropped() -> None:
    values, flags = log_crossing(GRID, [[0.05, 0.0, 0.0, 0.0], [0.4, 0.3, 0.2, 0.15],
                                        [0.4, 0.3, 0.2, 0.1]], 0.1)
    assert flags.tolist() == [BELOW_AT_START, NEVER_BELOW, NEVER_BELOW]
    assert values.tolist() == [50.0, 400.0, 400.0]


def test_leading_axes_are_kept() -> None:
    curves = np.zeros((2, 3, len(GRID)))
    curves[..., 0] = 0.5
    values, flags = log_crossing(GRID, curves, 0.25)
    assert values.shape == flags.shape == (2, 3)
    assert np.allclose(values, 50.0 * 2.0 ** 0.5)


@pytest.mark.parametrize(("x", "y", "match"), [
    ([50.0, 40.0], [0.3, 0.1], "strictly increasing"),
    ([0.0, 40.0], [0.3, 0.1], "positive"),
    ([50.0, 100.0], [0.3, np.nan], "finite"),
    ([50.0, 100.0], [0.3, 0.1, 0.0], "shape"),
])
def test_bad_input_is_refused(x, y, match) -> None:
    with pytest.raises(ValueError, match=match):
        log_crossing(x, y, 0.2)


@pytest.mark.parametrize("dof", [1.0, 2.0, 3.0, 7.0, 30.0, 1e6, math.inf])
def test_normal_equivalent_z_is_scipy_stats_t_mapped_to_the_normal(dof: float) -> None:
    from scipy import stats

    t = np.concatenate([np.linspace(-40.0, 40.0, 801), [1e-300, 1e3, np.inf, -np.inf]])
    expected = np.abs(stats.norm.isf(stats.t.sf(np.abs(t), dof)))
    np.testing.assert_array_equal(normal_equivalent_z(t, dof), expected)


def test_normal_equivalent_z_is_larger_for_more_degrees_of_freedom() -> None:
    # The same t is stronger evidence with a better-estimated standard error.
    z = normal_equivalent_z(3.0, np.array([2.0, 5.0, 30.0, np.inf]))
    assert np.all(np.diff(z) > 0) and z[-1] == pytest.approx(3.0)
