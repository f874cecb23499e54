"""Summaries, paired ratios and windowed rates of the benchmark numbers."""

from __future__ import annotations

import pytest

from tools.bench.stats import paired_ratios, rates, summary


def test_summary_is_median_and_range_of_the_values_that_exist() -> None:
    assert summary([3.0, None, 1.0, 10.0]) == {"median": 3.0, "min": 1.0, "max": 10.0, "n": 3}
    assert summary([4.0, 2.0])["median"] == 3.0  # an even count: the mean of the middle two


def test_summary_of_nothing_is_none() -> None:
    assert summary([]) is None
    assert summary([None, None]) is None


def test_paired_ratios_divide_pair_by_pair_and_leave_out_missing_or_zero_sides() -> None:
    assert paired_ratios([200.0, 90.0, None, 5.0], [100.0, 30.0, 7.0, 0.0]) == [2.0, 3.0]


def test_paired_ratios_refuse_unpaired_lists() -> None:
    with pytest.raises(ValueError):
        paired_ratios([1.0, 2.0], [1.0])


def test_rates_of_a_steady_count_are_its_slope_over_the_window() -> None:
    times = [0.0, 0.5, 1.0, 1.5, 2.0, 2.5, 3.0]
    counts = [100 * t for t in times]  # 100 per second
    assert rates(times, counts, window=1.0) == [None, 100.0, 100.0, 100.0, 100.0, 100.0, 100.0]


def test_rates_follow_a_change_of_pace_within_one_window() -> None:
    times = [0.0, 1.0, 2.0, 3.0, 4.0]
    counts = [0, 100, 200, 200, 200]  # stops at t=2
    assert rates(times, counts, window=1.0) == [None, 100.0, 100.0, 0.0, 0.0]
    assert rates(times, counts, window=2.0)[3] == 50.0  # (200 - 100) over t=1..3
