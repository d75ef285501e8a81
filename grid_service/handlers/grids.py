"""The cells: GET /api/v1/grids (the cell layer with open-case counts) and /grids/locate (which cell a point is in)."""

from __future__ import annotations

import weakref
from typing import Any

import orjson
import shapely
from aiohttp import web

from geo import gcj02
from geo.grid import Grid
from grid_service import keys
from grid_service.db import map as db_map
from grid_service.errors import NotFound
from grid_service.handlers.common import connection, json_response, principal, validate_query
from grid_service.handlers.map_view import geojson_response
from grid_service.schemas import Crs, GridsQuery, LocateQuery, parse_bbox

# Cell outlines as GeoJSON, computed once per loaded grid (the grid object is replaced on reload).
_OUTLINES: weakref.WeakKeyDictionary[Grid, dict[str, dict[str, Any]]] = weakref.WeakKeyDictionary()


async def locate(request: web.Request) -> web.Response:
    query = validate_query(LocateQuery, request)
    lon, lat = (query.lon, query.lat) if query.crs is Crs.WGS84 else gcj02.to_wgs84(query.lon, query.lat)
    snapshot = request.app[keys.CONFIG].current
    assignment = snapshot.grid.assign(lon, lat)
    if assignment is None:
        raise NotFound("the point is outside every grid cell", code="outside_grid")
    cell = assignment.cell
    return json_response(
        {
            "code": cell.code,
            "name": cell.name,
            "version": snapshot.grid_version,
            "snapped": assignment.snapped,
            "distance_m": round(assignment.distance_m, 2),
            "location": {"type": "Point", "coordinates": [lon, lat]},
        }
    )


def _outlines(grid: Grid) -> dict[str, dict[str, Any]]:
    outlines = _OUTLINES.get(grid)
    if outlines is None:
        geometries = shapely.to_geojson([cell.geometry for cell in grid.cells])
        outlines = {cell.code: orjson.loads(g) for cell, g in zip(grid.cells, geometries, strict=True)}
        _OUTLINES[grid] = outlines
    return outlines


async def grids(request: web.Request) -> web.Response:
    """The cells with their open cases: a department's token counts its own department's cases only."""
    query = validate_query(GridsQuery, request)
    caller = principal(request)
    snapshot = request.app[keys.CONFIG].current
    grid = snapshot.grid
    cells = grid.cells_in_box(*parse_bbox(query.bbox)) if query.bbox else list(grid.cells)
    counts: dict[str, int] = {}
    if snapshot.grid_version is not None and cells:
        heavy = request.app[keys.HEAVY_READS]
        async with (
            heavy.slot(caller.token_id),
            heavy.turn(),
            connection(request) as conn,
        ):
            counts = await db_map.open_cases_per_cell(
                conn,
                grid_version=snapshot.grid_version,
                department=caller.scope(),
            )
    outlines = _outlines(grid)
    features = [
        {
            "type": "Feature",
            "id": cell.code,
            "geometry": outlines[cell.code],
            "properties": {"code": cell.code, "name": cell.name, "open_cases": counts.get(cell.code, 0)},
        }
        for cell in cells
    ]
    return geojson_response({"type": "FeatureCollection", "features": features})
