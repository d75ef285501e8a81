"""The duplicate-search lock tiles: reports that could be duplicates of each other always share a key."""

import math

from hypothesis import given
from hypothesis import strategies as st

from geo.grid import METRES_PER_DEGREE
from grid_service.flows.intake import duplicate_lock_keys


@given(
    lon=st.floats(-179.0, 179.0),
    lat=st.floats(-70.0, 70.0),
    radius=st.floats(5.0, 500.0),
    distance_share=st.floats(0.0, 1.0),
    bearing=st.floats(0.0, 2 * math.pi),
)
def test_reports_within_the_radius_share_a_tile(
    lon: float, lat: float, radius: float, distance_share: float, bearing: float
) -> None:
    distance = radius * distance_share
    other_lat = lat + distance * math.sin(bearing) / METRES_PER_DEGREE
    other_lon = lon + distance * math.cos(bearing) / (METRES_PER_DEGREE * math.cos(math.radians(lat)))
    mine = set(duplicate_lock_keys("dust", lon, lat, radius))
    theirs = set(duplicate_lock_keys("dust", other_lon, other_lat, radius))
    assert mine & theirs


def test_categories_lock_apart_and_far_reports_do_not_wait() -> None:
    here = duplicate_lock_keys("dust", 126.63, 45.60, 50.0)
    assert not set(here) & set(duplicate_lock_keys("outdoor_barbecue", 126.63, 45.60, 50.0))
    assert not set(here) & set(duplicate_lock_keys("dust", 126.64, 45.61, 50.0))  # about 1.3 km away
    assert 1 <= len(here) <= 4
