"""Lane assignment: hand-computed lanes, the gap rule, the occupant panel."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from broadening.lanes import LANE_GAP, assign_lanes, lane_cells, lane_labels, occupant_panel, pack


def test_assignment_by_hand():
    # lives (first, last) with gap 2: a lane frees up 3 rows after its occupant's last row
    first = np.array([0, 1, 4, 5, 6, 9, 20])
    last = np.array([1, 3, 10, 7, 8, 12, 25])
    # s0 [0,1] -> lane 0 (free from 4); s1 [1,3] -> lane 1 (free from 6);
    # s2 starts 4: lane 0 is free (4 <= 4) -> lane 0 (free from 13);
    # s3 starts 5: lane 1 free from 6 > 5 -> new lane 2 (free from 10);
    # s4 starts 6: lane 1 -> (free from 11); s5 starts 9: earliest free is lane 2 (10) > 9 -> lane 3;
    # s6 starts 20: earliest free lane 2 (10)
    lane = assign_lanes(first, last, gap=2)
    assert lane.tolist() == [0, 1, 0, 2, 1, 3, 2]
    assert lane_cells(first, last, 30, gap=2) == 30 * 4


def test_gap_rule_is_exact():
    # next first - previous last - 1 empty rows: exactly `gap` shares the lane, one less does not
    assert assign_lanes(np.array([0, 6]), np.array([2, 9]), gap=3).tolist() == [0, 0]  # rows 3,4,5 empty
    assert assign_lanes(np.array([0, 5]), np.array([2, 9]), gap=3).tolist() == [0, 1]  # only 3,4
    assert assign_lanes(np.array([0, 3]), np.array([2, 9]), gap=0).tolist() == [0, 0]
    with pytest.raises(ValueError, match="ends before"):
        assign_lanes(np.array([3]), np.array([2]))
    with pytest.raises(ValueError, match="gap"):
        assign_lanes(np.array([0]), np.array([2]), gap=-1)


def test_occupant_panel_and_pack():
    first, last = np.array([0, 1, 4]), np.array([1, 3, 5])
    lane = assign_lanes(first, last, gap=2)
    occ = occupant_panel(first, last, lane, 7, 2)
    assert occ[:, 0].tolist() == [0, 0, -1, -1, 2, 2, -1]
    assert occ[:, 1].tolist() == [-1, 1, 1, 1, -1, -1, -1]
    # pack reads lives from the price cells (row, security), and auto keeps dense when it saves little
    rows = np.array([0, 1, 1, 3, 4, 5])
    secs = np.array([0, 0, 1, 1, 2, 2])
    p = pack(rows, secs, 3, 7, "lanes", 2)
    assert p.width == 2 and p.lives.tolist() == [[0, 1], [1, 3], [4, 5]]
    assert np.array_equal(p.occupant, occ)
    assert pack(rows, secs, 3, 7, "auto", 2) is not None  # 2 lanes for 3 securities: 33% saved
    assert pack(rows, secs, 3, 7, "auto", 2, saving=0.34) is None
    assert pack(rows, secs, 3, 7, "dense", 2) is None
    assert lane_labels(2).tolist() == ["lane0", "lane1"]


def test_default_gap_covers_the_shipped_lookbacks():
    """The gap must cover every trailing window the shipped configurations use over a column."""
    from broadening.config import load_config
    from broadening.playbook.config import load_playbook_config

    cfg, pcfg = load_config(None), load_playbook_config(None)
    s = cfg.signals
    lookbacks = {
        "momentum": pcfg.momentum.lookback, "tracking-error window": pcfg.constraints.te_lookback,
        "growth lag": s.growth_lag_days, "small-cap quality growth lag": cfg.small_cap_quality.growth_lag_days,
        "moving average": s.moving_average, "breadth window": s.breadth_window,
    }
    too_long = {k: v for k, v in lookbacks.items() if v > LANE_GAP}
    assert not too_long, f"look-backs longer than LANE_GAP={LANE_GAP}: {too_long}"


@settings(max_examples=60, deadline=None)
@given(st.lists(st.tuples(st.integers(0, 60), st.integers(0, 30)), min_size=1, max_size=40), st.integers(0, 8))
def test_lanes_never_overlap_and_are_fewest(lives, gap):
    first = np.array([f for f, _ in lives])
    last = first + np.array([n for _, n in lives])
    lane = assign_lanes(first, last, gap)
    for k in np.unique(lane):
        idx = np.flatnonzero(lane == k)
        idx = idx[np.argsort(first[idx])]
        assert np.all(first[idx[1:]] - last[idx[:-1]] - 1 >= gap)
    # the fewest lanes: the peak number of lives extended by the gap that overlap on a row
    T = int(last.max()) + gap + 2
    cover = np.zeros(T + 1, dtype=int)
    np.add.at(cover, first, 1)
    np.add.at(cover, last + gap + 1, -1)
    assert lane.max() + 1 == np.cumsum(cover).max()
