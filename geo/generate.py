"""Cut square unit-grid cells over a boundary polygon.

Cells are squares of ``cell_size_m`` metres in a local equirectangular plane
centred on the boundary (distortion below 0.1 % over a district), clipped to
the boundary. Codes follow the GB/T 30428 shape: the caller's prefix (the
6-digit administrative area) + 3 digits street + 3 digits community + 3
digits cell. Streets and communities are square blocks of cells
(``community_cells`` × ``community_cells`` cells per community,
``street_communities`` × ``street_communities`` communities per street),
numbered west to east, then north to south, skipping empty blocks.
"""

from __future__ import annotations

import math
from collections import defaultdict

import numpy as np
import shapely
from shapely.geometry.base import BaseGeometry

from geo.grid import METRES_PER_DEGREE, Cell

ADMIN_PREFIX_LENGTH = 6


def generate_cells(
    boundary: BaseGeometry,
    *,
    cell_size_m: float,
    code_prefix: str,
    community_cells: int = 5,
    street_communities: int = 4,
    area_name: str = "",
) -> list[Cell]:
    """Return the clipped cells covering ``boundary`` (WGS84), sorted by code.

    Raises ValueError for a bad prefix or size, or when a level would need
    more than 999 entries.
    """
    if len(code_prefix) != ADMIN_PREFIX_LENGTH or not code_prefix.isdigit():
        raise ValueError("code prefix must be the 6-digit administrative area code")
    if not (1.0 <= cell_size_m <= 100_000.0):
        raise ValueError("cell size must be between 1 and 100000 metres")
    if boundary.is_empty:
        raise ValueError("boundary is empty")
    lon0, lat0 = boundary.centroid.x, boundary.centroid.y
    kx = math.cos(math.radians(lat0)) * METRES_PER_DEGREE
    ky = METRES_PER_DEGREE
    minx, miny, maxx, maxy = boundary.bounds
    x0, x1 = (minx - lon0) * kx, (maxx - lon0) * kx
    y0, y1 = (miny - lat0) * ky, (maxy - lat0) * ky
    cols = max(1, math.ceil((x1 - x0) / cell_size_m))
    rows = max(1, math.ceil((y1 - y0) / cell_size_m))
    # Row 0 is the northernmost row, so numbering reads like a map.
    col_grid, row_grid = np.meshgrid(np.arange(cols), np.arange(rows))
    col_idx, row_idx = col_grid.ravel(), row_grid.ravel()
    west = lon0 + (x0 + col_idx * cell_size_m) / kx
    east = lon0 + (x0 + (col_idx + 1) * cell_size_m) / kx
    north = lat0 + (y1 - row_idx * cell_size_m) / ky
    south = lat0 + (y1 - (row_idx + 1) * cell_size_m) / ky
    boxes = shapely.box(west, south, east, north)
    shapely.prepare(boundary)
    touching = shapely.intersects(boundary, boxes) & ~shapely.touches(boundary, boxes)
    clipped = shapely.intersection(boxes[touching], boundary, grid_size=1e-7)
    cols_kept, rows_kept = col_idx[touching], row_idx[touching]

    block = community_cells * street_communities
    streets: dict[tuple[int, int], dict[tuple[int, int], list[tuple[int, int, BaseGeometry]]]] = defaultdict(
        lambda: defaultdict(list)
    )
    for geom, col, row in zip(clipped, cols_kept, rows_kept, strict=True):
        polygonal = _polygonal_part(geom)
        if polygonal is None:
            continue
        street_key = (int(row) // block, int(col) // block)
        community_key = (int(row) // community_cells, int(col) // community_cells)
        streets[street_key][community_key].append((int(row), int(col), polygonal))

    cells: list[Cell] = []
    if len(streets) > 999:
        raise ValueError("more than 999 streets: choose larger blocks or cells")
    for s_no, street_key in enumerate(sorted(streets), start=1):
        communities = streets[street_key]
        for c_no, community_key in enumerate(sorted(communities), start=1):
            members = sorted(communities[community_key], key=lambda m: (m[0], m[1]))
            if len(members) > 999:
                raise ValueError("more than 999 cells in a community: choose smaller communities")
            for n_no, (_, _, geom) in enumerate(members, start=1):
                code = f"{code_prefix}{s_no:03d}{c_no:03d}{n_no:03d}"
                name = f"{area_name}第{s_no:02d}片区第{c_no:02d}社区第{n_no:03d}网格"
                cells.append(Cell(code=code, name=name, geometry=geom))
    if not cells:
        raise ValueError("no cells: the boundary has no area")
    return cells


def _polygonal_part(geom: BaseGeometry) -> BaseGeometry | None:
    """Keep only the areal part of a clip result (edges and points touching the boundary are dropped)."""
    if geom.is_empty:
        return None
    if geom.geom_type in ("Polygon", "MultiPolygon"):
        return geom if geom.area > 0 else None
    polygons = [p for p in shapely.get_parts(geom) if p.geom_type in ("Polygon", "MultiPolygon") and p.area > 0]
    if not polygons:
        return None
    return shapely.union_all(polygons)
