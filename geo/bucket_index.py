"""A uniform bucket index over polygon parts: the fast path of point assignment.

The plane is cut into a lattice of buckets about the size of a typical part;
each bucket lists the parts whose bounding box touches it. A point's bucket is
found by arithmetic, so a lookup costs a division and a dictionary-free array
read instead of a tree walk. Axis-aligned rectangles (almost every cell of a
generated grid) are tested with four comparisons; other parts with GEOS
``intersects_xy`` on prepared geometry. For a point, "intersects" is exactly
"covered by" (interior or boundary), the relation assignment needs.

Registration and lookup compute bucket numbers with the same float operations
(``(x - x0) / width``, floored), so a point on a bucket edge is always found in
a bucket that every part touching that edge is registered in.
"""

from __future__ import annotations

import math

import numpy as np
import numpy.typing as npt
import shapely

_NO_CELL = np.iinfo(np.int64).max


def _is_rectangle(part: shapely.Geometry, bounds: npt.NDArray[np.float64]) -> bool:
    if part.geom_type != "Polygon" or len(part.interiors):
        return False
    minx, miny, maxx, maxy = bounds
    corners = {(float(x), float(y)) for x, y in part.exterior.coords}
    return len(corners) == 4 and corners == {(minx, miny), (minx, maxy), (maxx, miny), (maxx, maxy)}


class BucketIndex:
    def __init__(self, parts: npt.NDArray[np.object_], owners: npt.NDArray[np.int64]) -> None:
        self._parts = parts
        self._owners = owners
        self._bounds = shapely.bounds(parts) if len(parts) else np.zeros((0, 4))
        self._rect = np.array([_is_rectangle(p, b) for p, b in zip(parts, self._bounds, strict=True)], dtype=bool)
        self._bounds_list = self._bounds.tolist()
        self._rect_list = self._rect.tolist()
        self._owner_list = owners.tolist()
        if not len(parts):
            self.x0 = self.y0 = 0.0
            self.width = self.height = 1.0
            self.nx = self.ny = 0
            self._start = np.zeros(1, dtype=np.int64)
            self._members = np.zeros(0, dtype=np.int64)
            self._buckets: list[tuple[int, ...]] = []
            return
        self.x0, self.y0 = float(self._bounds[:, 0].min()), float(self._bounds[:, 1].min())
        x1, y1 = float(self._bounds[:, 2].max()), float(self._bounds[:, 3].max())
        tiny = 1e-9
        self.width = max(float(np.median(self._bounds[:, 2] - self._bounds[:, 0])), tiny)
        self.height = max(float(np.median(self._bounds[:, 3] - self._bounds[:, 1])), tiny)
        budget = 4 * len(parts) + 1024
        for _ in range(64):  # widen buckets until the lattice fits the budget
            self.nx = math.floor((x1 - self.x0) / self.width) + 1
            self.ny = math.floor((y1 - self.y0) / self.height) + 1
            if self.nx * self.ny <= budget:
                break
            self.width *= 1.5
            self.height *= 1.5
        members: list[list[int]] = [[] for _ in range(self.nx * self.ny)]
        ix0 = np.floor((self._bounds[:, 0] - self.x0) / self.width).astype(np.int64)
        ix1 = np.floor((self._bounds[:, 2] - self.x0) / self.width).astype(np.int64)
        iy0 = np.floor((self._bounds[:, 1] - self.y0) / self.height).astype(np.int64)
        iy1 = np.floor((self._bounds[:, 3] - self.y0) / self.height).astype(np.int64)
        for part, (a, b, c, d) in enumerate(zip(ix0.tolist(), ix1.tolist(), iy0.tolist(), iy1.tolist(), strict=True)):
            for iy in range(c, d + 1):
                row = iy * self.nx
                for ix in range(a, b + 1):
                    members[row + ix].append(part)
        self._buckets = [tuple(m) for m in members]
        counts = np.array([len(m) for m in members], dtype=np.int64)
        self._start = np.concatenate(([0], np.cumsum(counts)))
        self._members = np.array([p for m in members for p in m], dtype=np.int64)
        self.max_per_bucket = int(counts.max())

    def lowest_owner(self, x: float, y: float) -> int | None:
        """The lowest owner index among parts covering (x, y), or None."""
        if not (x >= self.x0 and y >= self.y0):  # also false for NaN
            return None
        ix = math.floor((x - self.x0) / self.width)
        iy = math.floor((y - self.y0) / self.height)
        if ix >= self.nx or iy >= self.ny:
            return None
        best: int | None = None
        for part in self._buckets[iy * self.nx + ix]:
            owner = self._owner_list[part]
            if best is not None and owner >= best:
                continue
            if self._rect_list[part]:
                minx, miny, maxx, maxy = self._bounds_list[part]
                hit = minx <= x <= maxx and miny <= y <= maxy
            else:
                hit = bool(shapely.intersects_xy(self._parts[part], x, y))
            if hit:
                best = owner
        return best

    def lowest_owners(self, xs: npt.NDArray[np.float64], ys: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """Vectorised ``lowest_owner``: -1 where no part covers the point."""
        best = np.full(xs.shape[0], _NO_CELL, dtype=np.int64)
        if self.nx == 0:
            return np.full(xs.shape[0], -1, dtype=np.int64)
        with np.errstate(invalid="ignore"):
            fx = np.floor((xs - self.x0) / self.width)
            fy = np.floor((ys - self.y0) / self.height)
            valid = (fx >= 0) & (fx < self.nx) & (fy >= 0) & (fy < self.ny)
        points = np.flatnonzero(valid)
        bucket = fy[points].astype(np.int64) * self.nx + fx[points].astype(np.int64)
        start = self._start[bucket]
        count = self._start[bucket + 1] - start
        for k in range(self.max_per_bucket):
            has = count > k
            if not has.any():
                break
            idx = points[has]
            part = self._members[start[has] + k]
            hit = np.zeros(idx.shape[0], dtype=bool)
            rect = self._rect[part]
            if rect.any():
                b = self._bounds[part[rect]]
                x, y = xs[idx[rect]], ys[idx[rect]]
                hit[rect] = (b[:, 0] <= x) & (x <= b[:, 2]) & (b[:, 1] <= y) & (y <= b[:, 3])
            other = ~rect
            if other.any():
                hit[other] = shapely.intersects_xy(self._parts[part[other]], xs[idx[other]], ys[idx[other]])
            winners = idx[hit]
            best[winners] = np.minimum(best[winners], self._owners[part[hit]])
        best[best == _NO_CELL] = -1
        return best
