"""GCJ-02 ("Mars coordinates") <-> WGS84 conversion.

GCJ-02 is the obfuscated datum that Chinese map providers publish; it differs
from WGS84 by a few hundred metres inside mainland China and equals WGS84
outside it. The forward transform (WGS84 -> GCJ-02) is the published closed
form; the inverse has no closed form, so `to_wgs84` refines a fixed-point
iteration until the round trip agrees to about a millimetre.

All functions take and return (lon, lat) in decimal degrees and accept either
floats or numpy arrays (element-wise).
"""

from __future__ import annotations

from typing import TypeVar

import numpy as np
import numpy.typing as npt

_SEMI_MAJOR = 6378245.0  # Krasovsky 1940 ellipsoid, as the datum defines
_ECC_SQ = 0.00669342162296594323

FloatOrArray = TypeVar("FloatOrArray", float, npt.NDArray[np.float64])


def in_china(lon: FloatOrArray, lat: FloatOrArray) -> npt.NDArray[np.bool_] | bool:
    """The coarse rectangle within which the offset is applied (as providers do)."""
    inside = (np.asarray(lon) >= 72.004) & (np.asarray(lon) <= 137.8347)
    inside &= (np.asarray(lat) >= 0.8293) & (np.asarray(lat) <= 55.8271)
    return inside if np.ndim(inside) else bool(inside)


def _offset(
    lon: npt.NDArray[np.float64], lat: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    x = lon - 105.0
    y = lat - 35.0
    d_lat = -100.0 + 2.0 * x + 3.0 * y + 0.2 * y * y + 0.1 * x * y + 0.2 * np.sqrt(np.abs(x))
    d_lat += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lat += (20.0 * np.sin(y * np.pi) + 40.0 * np.sin(y / 3.0 * np.pi)) * 2.0 / 3.0
    d_lat += (160.0 * np.sin(y / 12.0 * np.pi) + 320.0 * np.sin(y * np.pi / 30.0)) * 2.0 / 3.0
    d_lon = 300.0 + x + 2.0 * y + 0.1 * x * x + 0.1 * x * y + 0.1 * np.sqrt(np.abs(x))
    d_lon += (20.0 * np.sin(6.0 * x * np.pi) + 20.0 * np.sin(2.0 * x * np.pi)) * 2.0 / 3.0
    d_lon += (20.0 * np.sin(x * np.pi) + 40.0 * np.sin(x / 3.0 * np.pi)) * 2.0 / 3.0
    d_lon += (150.0 * np.sin(x / 12.0 * np.pi) + 300.0 * np.sin(x / 30.0 * np.pi)) * 2.0 / 3.0
    rad_lat = lat / 180.0 * np.pi
    magic = 1.0 - _ECC_SQ * np.sin(rad_lat) ** 2
    sqrt_magic = np.sqrt(magic)
    d_lat = (d_lat * 180.0) / ((_SEMI_MAJOR * (1.0 - _ECC_SQ)) / (magic * sqrt_magic) * np.pi)
    d_lon = (d_lon * 180.0) / (_SEMI_MAJOR / sqrt_magic * np.cos(rad_lat) * np.pi)
    return d_lon, d_lat


def to_gcj02(lon: FloatOrArray, lat: FloatOrArray) -> tuple[FloatOrArray, FloatOrArray]:
    """WGS84 -> GCJ-02. Points outside China are returned unchanged."""
    lon_a = np.asarray(lon, dtype=np.float64)
    lat_a = np.asarray(lat, dtype=np.float64)
    d_lon, d_lat = _offset(lon_a, lat_a)
    mask = np.asarray(in_china(lon_a, lat_a))
    out_lon = np.where(mask, lon_a + d_lon, lon_a)
    out_lat = np.where(mask, lat_a + d_lat, lat_a)
    return _like(lon, out_lon), _like(lat, out_lat)


def to_wgs84(lon: FloatOrArray, lat: FloatOrArray) -> tuple[FloatOrArray, FloatOrArray]:
    """GCJ-02 -> WGS84 by fixed-point iteration on the forward transform.

    The offset field is smooth (its gradient is far below 1), so each step
    shrinks the error by orders of magnitude; 1e-9 degrees is about 0.1 mm.
    """
    target_lon = np.asarray(lon, dtype=np.float64)
    target_lat = np.asarray(lat, dtype=np.float64)
    guess_lon, guess_lat = target_lon.copy(), target_lat.copy()
    for _ in range(30):
        fwd_lon, fwd_lat = to_gcj02(guess_lon, guess_lat)
        err_lon = np.asarray(fwd_lon) - target_lon
        err_lat = np.asarray(fwd_lat) - target_lat
        guess_lon = guess_lon - err_lon
        guess_lat = guess_lat - err_lat
        if np.max(np.abs(err_lon), initial=0.0) < 1e-9 and np.max(np.abs(err_lat), initial=0.0) < 1e-9:
            break
    return _like(lon, guess_lon), _like(lat, guess_lat)


def _like(template: FloatOrArray, value: npt.NDArray[np.float64]) -> FloatOrArray:
    if np.ndim(template) == 0:
        return float(value)  # type: ignore[return-value]
    return value  # type: ignore[return-value]
