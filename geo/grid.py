"""Grid cells and point assignment.

Assignment rule (SPEC §3), in order:

1. Every cell whose polygon *covers* the point (boundary included) is a match;
   when several match — a point on an edge or corner shared by cells — the
   cell with the lowest code wins, so the answer never depends on load order.
2. Otherwise, if some cell lies within ``snap_m`` metres of the point (GPS
   noise near the grid's outer edge), the nearest such cell wins, ties again
   going to the lowest code.
3. Otherwise the point is outside the grid (``None``).

Cells are stored sorted by code and their polygons exploded into parts, with
a parallel array mapping each part to its cell; because cell indices follow
code order, "lowest code" is simply "lowest cell index". Covering parts are
found through a uniform bucket index (``geo.bucket_index``), which is several
times faster per point than an STRtree query; the STRtree serves the rarer
snapping search.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry.base import BaseGeometry

from geo.bucket_index import BucketIndex

METRES_PER_DEGREE = 111_320.0  # length of one degree of latitude (and of longitude at the equator)


@dataclass(frozen=True, slots=True)
class Cell:
    code: str
    name: str
    geometry: BaseGeometry  # Polygon or MultiPolygon, WGS84 lon/lat


@dataclass(frozen=True, slots=True)
class Assignment:
    cell: Cell
    snapped: bool  # True when the point was outside every cell and moved to the nearest one
    distance_m: float  # 0.0 when covered


class Grid:
    """An immutable set of cells with a spatial index. Safe to share between threads."""

    def __init__(self, cells: Sequence[Cell], *, snap_m: float = 30.0) -> None:
        codes = [c.code for c in cells]
        if len(set(codes)) != len(codes):
            raise ValueError("duplicate cell codes in grid")
        self.cells: tuple[Cell, ...] = tuple(sorted(cells, key=lambda c: c.code))
        self.snap_m = snap_m
        self._by_code = {c.code: c for c in self.cells}
        parts: list[BaseGeometry] = []
        owners: list[int] = []
        for index, cell in enumerate(self.cells):
            for part in shapely.get_parts(cell.geometry):
                parts.append(part)
                owners.append(index)
        self._parts = np.array(parts, dtype=object)
        self._part_owner = np.array(owners, dtype=np.int64)
        shapely.prepare(self._parts)
        self._tree = shapely.STRtree(self._parts)
        self._index = BucketIndex(self._parts, self._part_owner)

    def __len__(self) -> int:
        return len(self.cells)

    def get(self, code: str) -> Cell | None:
        return self._by_code.get(code)

    def cells_in_box(self, min_lon: float, min_lat: float, max_lon: float, max_lat: float) -> list[Cell]:
        """The cells that touch a lon/lat box, in code order."""
        parts = self._tree.query(shapely.box(min_lon, min_lat, max_lon, max_lat), predicate="intersects")
        owners = sorted({int(owner) for owner in self._part_owner[parts]})
        return [self.cells[owner] for owner in owners]

    def assign(self, lon: float, lat: float) -> Assignment | None:
        """Assign one WGS84 point; see the module docstring for the rule."""
        owner = self._index.lowest_owner(lon, lat)
        if owner is not None:
            return Assignment(self.cells[owner], False, 0.0)
        return self._snap(lon, lat)

    def assign_many(self, lons: npt.ArrayLike, lats: npt.ArrayLike) -> npt.NDArray[np.int64]:
        """Vectorised assignment: the index into ``cells`` for each point, -1 when outside.

        Snapping is applied to the points that no cell covers (normally few).
        Shapely releases the GIL here, so callers may run chunks in threads.
        """
        lon_a = np.asarray(lons, dtype=np.float64)
        lat_a = np.asarray(lats, dtype=np.float64)
        result = self._index.lowest_owners(lon_a, lat_a)
        missing = np.flatnonzero(result == -1)
        for i in missing:
            snapped = self._snap(float(lon_a[i]), float(lat_a[i]))
            result[i] = self._index_of(snapped.cell) if snapped else -1
        return result

    def _index_of(self, cell: Cell) -> int:
        lo, hi = 0, len(self.cells)
        while lo < hi:  # bisect on the sorted codes
            mid = (lo + hi) // 2
            if self.cells[mid].code < cell.code:
                lo = mid + 1
            else:
                hi = mid
        return lo

    def _snap(self, lon: float, lat: float) -> Assignment | None:
        if self.snap_m <= 0 or not (math.isfinite(lon) and math.isfinite(lat)):
            return None
        # Candidate parts by envelope, then exact distance in a local metric plane
        # centred on the point (equirectangular: accurate to well under 1 % at 30 m).
        cos_lat = max(math.cos(math.radians(lat)), 1e-6)
        d_lat = self.snap_m / METRES_PER_DEGREE
        d_lon = d_lat / cos_lat
        search = shapely.box(lon - d_lon, lat - d_lat, lon + d_lon, lat + d_lat)
        best: tuple[float, int] | None = None
        for part_index in self._tree.query(search):
            part = self._parts[part_index]
            local = shapely.transform(
                part,
                lambda xy: np.column_stack(
                    ((xy[:, 0] - lon) * cos_lat * METRES_PER_DEGREE, (xy[:, 1] - lat) * METRES_PER_DEGREE)
                ),
            )
            distance = float(shapely.distance(local, shapely.Point(0.0, 0.0)))
            owner = int(self._part_owner[part_index])
            if distance <= self.snap_m and (best is None or (distance, owner) < best):
                best = (distance, owner)
        if best is None:
            return None
        return Assignment(self.cells[best[1]], True, best[0])
