"""Assignment on real data, where ../shared/data is present (CI has it; a bare clone may not)."""

import pytest

from bench.sf_assignment import DEFAULT_DATA, run

pytestmark = [
    pytest.mark.realdata,
    pytest.mark.skipif(not DEFAULT_DATA.is_dir(), reason=f"real data not found at {DEFAULT_DATA}"),
]


def test_real_san_francisco_requests_land_in_their_recorded_neighbourhood():
    result = run(DEFAULT_DATA)
    assert result.points == 9976
    assert result.covered == 9970  # the data's own count of points inside a neighbourhood
    assert result.outside + result.snapped == 6
    assert result.bulk_equals_single
    assert result.agreement > 0.95
