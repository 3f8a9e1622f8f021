"""Panel primitives: row blocks and running scans down the date axis, against hand results and plain numpy."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from broadening.panel import (
    StepPanel,
    ffill,
    in_force,
    row_blocks,
    running_sum_positive,
    take_flat,
    window_sum_blocks,
)


def test_ffill_keeps_leading_nans():
    p = np.array([[np.nan, 1.0], [2.0, np.nan], [np.nan, np.nan], [5.0, 3.0]])
    out = ffill(p)
    np.testing.assert_array_equal(out, [[np.nan, 1.0], [2.0, 1.0], [2.0, 1.0], [5.0, 3.0]])


def test_row_blocks_cover_the_rows_once_in_order():
    blocks = list(row_blocks(3, 20, width=4, cells=20))
    assert blocks == [slice(3, 8), slice(8, 13), slice(13, 18), slice(18, 20)]
    assert list(row_blocks(0, 2, width=10**9)) == [slice(0, 1), slice(1, 2)]  # never 0 rows
    assert list(row_blocks(5, 5, width=3)) == []


def test_in_force_carries_events_and_masks_output():
    # events: 0 -> (0, col 1); 1 -> (3, col 0); 2 -> (1, col 0); 3 -> (1, col 0), same day;
    # 4 -> row 9, past the end (never happens)
    rows = np.array([0, 3, 1, 1, 9])
    cols = np.array([1, 0, 0, 0, 1])
    keep = np.array([[True, True], [True, True], [False, True], [True, True]])
    out = in_force(rows, cols, keep)
    # column 0: event 3 (the higher of two the same day) holds through the masked day; the
    # later but lower-numbered event 1 never supersedes it
    np.testing.assert_array_equal(out, [[-1, 0], [3, 0], [-1, 0], [3, 0]])
    assert out.dtype == np.int32


def test_running_sum_positive_is_inside_intervals():
    delta = np.array([[1, 0], [0, 1], [-1, 0], [1, -1]], dtype=np.int8)
    keep = np.array([[True, True], [False, True], [True, True], [True, True]])
    out = running_sum_positive(delta, keep)
    np.testing.assert_array_equal(out, [[True, False], [False, True], [False, True], [True, False]])


@settings(max_examples=60, deadline=None)
@given(arrays(np.float64, st.tuples(st.integers(1, 12), st.integers(1, 4)),
              elements=st.one_of(st.just(np.nan), st.floats(-1e6, 1e6))),
       st.integers(1, 6), st.integers(1, 20))
def test_window_sum_blocks_match_a_plain_loop(x, window, cells):
    """Blocks of any size (``cells`` small forces many) give the plain trailing-window sums."""
    fin = np.isfinite(x)
    cols = np.arange(x.shape[1])[::-1]  # a column subset in any order
    seen = []
    for rows, s, n in window_sum_blocks(x, window, cols, cells=cells):
        seen.extend(range(rows.start, rows.stop))
        for j, t in enumerate(range(rows.start, rows.stop)):
            lo = max(0, t - window + 1)
            np.testing.assert_allclose(s[j], np.where(fin[lo:t + 1], x[lo:t + 1], 0.0).sum(axis=0)[cols], atol=1e-6)
            np.testing.assert_array_equal(n[j], fin[lo:t + 1].sum(axis=0)[cols])
    assert seen == list(range(x.shape[0]))


def test_step_panel_gathers_event_values_and_nan_for_none():
    in_force = np.array([[-1, 0], [1, 0], [1, 2]], dtype=np.int32)
    p = StepPanel(in_force, np.array([10.0, 20.0, np.nan]))
    assert p.shape == (3, 2)
    full = np.asarray(p)
    np.testing.assert_array_equal(full, [[np.nan, 10.0], [20.0, 10.0], [20.0, np.nan]])
    np.testing.assert_array_equal(p[1:, [1]], full[1:, [1]])
    np.testing.assert_array_equal(p[np.ix_([0, 2], [1, 0])], full[np.ix_([0, 2], [1, 0])])
    flat = np.array([0, 3, 5])
    np.testing.assert_array_equal(take_flat(p, flat), full.reshape(-1)[flat])
    np.testing.assert_array_equal(take_flat(full, flat), full.reshape(-1)[flat])


def test_block_columns_reads_all_columns_through_a_slice_when_most_are_touched():
    from broadening.panel import block_columns, block_copy, block_width

    few = block_columns(np.array([True, False, False, True]))
    np.testing.assert_array_equal(few, [0, 3])
    assert block_width(few, 4) == 2
    most = block_columns(np.array([True, True, True, False]))
    assert most == slice(None) and block_width(most, 4) == 4
    p = np.arange(8.0).reshape(2, 4)
    b = block_copy(p, slice(0, 2), most)
    b[:] = -1.0  # a copy, never a view into the panel
    assert p[0, 0] == 0.0
    np.testing.assert_array_equal(block_copy(p, slice(1, 2), few), [[4.0, 7.0]])


def test_block_copies_and_flat_takes_share_one_event_gather():
    from broadening.panel import block_copies, flat_takes

    idx = np.array([[0, -1], [1, 1]], dtype=np.int32)
    a, b = StepPanel(idx, np.array([1.0, 2.0])), StepPanel(idx, np.array([10.0, 20.0]))
    dense = np.array([[5.0, 6.0], [7.0, 8.0]])
    got = block_copies([a, dense, b], slice(0, 2), np.array([1, 0]))
    np.testing.assert_array_equal(got[0], [[np.nan, 1.0], [2.0, 2.0]])
    np.testing.assert_array_equal(got[1], [[6.0, 5.0], [8.0, 7.0]])
    np.testing.assert_array_equal(got[2], [[np.nan, 10.0], [20.0, 20.0]])
    flat = np.array([1, 2])
    np.testing.assert_array_equal(flat_takes([a, dense, b], flat)[2], [np.nan, 20.0])


def test_column_take_gathers_rows_only_and_pickles_as_the_array():
    import pickle

    from broadening.panel import ColumnTake

    panel = np.arange(20.0).reshape(4, 5)
    cols = np.array([4, 1])
    view = ColumnTake(panel, cols)
    assert view.shape == (4, 2) and view.ndim == 2 and view.dtype == panel.dtype
    np.testing.assert_array_equal(view[np.array([0, 3])], [[4.0, 1.0], [19.0, 16.0]])
    np.testing.assert_array_equal(view[2], [14.0, 11.0])
    np.testing.assert_array_equal(view[1:3, 0], [9.0, 14.0])
    np.testing.assert_array_equal(np.asarray(view), panel[:, cols])
    back = pickle.loads(pickle.dumps(view))
    assert isinstance(back, np.ndarray)
    np.testing.assert_array_equal(back, panel[:, cols])
