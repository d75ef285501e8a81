import numpy as np
import pytest

from geo import gcj02
from geo.grid import METRES_PER_DEGREE


def metres(lon1, lat1, lon2, lat2):
    dx = (np.asarray(lon1) - lon2) * np.cos(np.radians(lat2)) * METRES_PER_DEGREE
    dy = (np.asarray(lat1) - lat2) * METRES_PER_DEGREE
    return np.hypot(dx, dy)


def test_offset_in_harbin_is_hundreds_of_metres():
    lon, lat = gcj02.to_gcj02(126.6285, 45.6078)
    assert 100 < metres(lon, lat, 126.6285, 45.6078) < 1000


def test_inverse_is_within_a_millimetre_across_china():
    rng = np.random.default_rng(7)
    lon = rng.uniform(74.0, 134.0, 20_000)
    lat = rng.uniform(18.0, 53.0, 20_000)
    gcj_lon, gcj_lat = gcj02.to_gcj02(lon, lat)
    back_lon, back_lat = gcj02.to_wgs84(gcj_lon, gcj_lat)
    assert metres(back_lon, back_lat, lon, lat).max() < 0.001


def test_scalar_round_trip_is_under_one_metre():
    back = gcj02.to_wgs84(*gcj02.to_gcj02(126.6285, 45.6078))
    assert isinstance(back[0], float)
    assert metres(back[0], back[1], 126.6285, 45.6078) < 1.0


@pytest.mark.parametrize("lon, lat", [(-122.4194, 37.7749), (2.35, 48.85), (151.2, -33.9)])
def test_points_outside_china_are_unchanged(lon, lat):
    assert gcj02.to_gcj02(lon, lat) == (lon, lat)
    assert gcj02.to_wgs84(lon, lat) == (lon, lat)


@pytest.mark.parametrize(
    "wgs84, published",
    [
        # The example of the widely used coordtransform library (wandergis/coordtransform, test/app.js),
        # an implementation independent of ours: wgs84togcj02(116.404, 39.915).
        ((116.404, 39.915), (116.41024449916938, 39.91640428150164)),
    ],
)
def test_the_forward_transform_matches_a_published_known_answer(wgs84, published):
    lon, lat = gcj02.to_gcj02(*wgs84)
    assert lon == pytest.approx(published[0], abs=1e-9) and lat == pytest.approx(published[1], abs=1e-9)
    # …and the inverse lands back within a millimetre (the published one-step inverse is only approximate).
    assert metres(*gcj02.to_wgs84(*published), *wgs84) < 0.001
