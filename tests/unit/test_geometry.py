"""Grid placement by header keys."""

import numpy as np
import pytest

from seisfuse.errors import GeometryError
from seisfuse.geometry import grid_2d, grid_3d, line_axis, rank_key_candidates
from tests.helpers import grid_traces


def test_regular_grid_places_each_trace_on_its_cell():
    il, xl = grid_traces(4, 3, il0=10, xl0=100)
    grid = grid_3d(il, xl)
    assert grid.shape == (4, 3) and grid.n_missing == 0
    np.testing.assert_array_equal(grid.axes["inline"], [10, 11, 12, 13])
    np.testing.assert_array_equal(grid.trace_at_cell.reshape(-1), np.arange(12))


def test_swapped_traces_are_placed_by_key_not_position():
    il, xl = grid_traces(3, 3)
    il[[2, 5]], xl[[2, 5]] = il[[5, 2]], xl[[5, 2]]
    grid = grid_3d(il, xl)
    assert grid.trace_at_cell[0, 2] == 5 and grid.trace_at_cell[1, 2] == 2


def test_steps_and_decreasing_lines():
    il, xl = grid_traces(3, 4, il0=120, xl0=2000, il_step=-2, xl_step=4)
    grid = grid_3d(il, xl)
    np.testing.assert_array_equal(grid.axes["inline"], [116, 118, 120])
    np.testing.assert_array_equal(grid.axes["crossline"], [2000, 2004, 2008, 2012])
    assert grid.steps() == {"inline": 2, "crossline": 4}
    assert grid.trace_at_cell[2, 0] == 0  # the first trace had the largest inline


def test_missing_traces_are_minus_one():
    il, xl = grid_traces(4, 4)
    keep = np.ones(16, bool)
    keep[[0, 5, 15]] = False
    grid = grid_3d(il[keep], xl[keep])
    assert grid.n_missing == 3 and grid.trace_at_cell[0, 0] == -1 and grid.trace_at_cell[1, 1] == -1


def test_missing_whole_line_keeps_the_step():
    assert list(line_axis(np.array([1, 3, 7, 9]))) == [1, 3, 5, 7, 9]


def test_duplicates_error_names_the_cell_and_traces():
    il, xl = grid_traces(2, 2)
    il, xl = np.append(il, il[1]), np.append(xl, xl[1])
    with pytest.raises(GeometryError, match=r"1 traces fall .*\(inline 10, crossline 101 holds traces 1 and 4"):
        grid_3d(il, xl)


@pytest.mark.parametrize("policy, kept", [("first", 1), ("last", 4)])
def test_duplicate_policies(policy, kept):
    il, xl = grid_traces(2, 2)
    il, xl = np.append(il, il[1]), np.append(xl, xl[1])
    grid = grid_3d(il, xl, duplicates=policy)
    assert grid.trace_at_cell[0, 1] == kept and grid.n_duplicates_dropped == 1


def test_implausible_grid_suggests_working_byte_locations():
    il, xl = grid_traces(5, 20)
    seq = np.arange(1, 101)  # unique per trace, as if the inline byte pointed at a sequence number
    alternatives = {(189, 193): (seq, xl), (9, 21): (il, xl), (17, 13): (np.zeros(100), np.zeros(100))}
    with pytest.raises(GeometryError) as err:
        grid_3d(seq, xl, alternatives=alternatives)
    message = str(err.value)
    assert "the inline key is different on every trace" in message and "a trace counter" in message
    assert "try --iline-byte 9 --xline-byte 21 (5 x 20 lines, 100% of cells live)" in message


def test_rank_prefers_full_grids():
    il, xl = grid_traces(4, 4)
    ranked = rank_key_candidates({(189, 193): (il, xl), (9, 21): (il[:8], xl[:8])})
    assert ranked[0].startswith("--iline-byte 189")


def test_grid_2d_keeps_file_order():
    grid = grid_2d(5)
    assert grid.dims == ("trace",) and list(grid.trace_at_cell) == [0, 1, 2, 3, 4]
