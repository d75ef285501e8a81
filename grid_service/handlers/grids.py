"""GET /api/v1/grids/locate: which cell a point falls in."""

from __future__ import annotations

from aiohttp import web

from geo import gcj02
from grid_service import keys
from grid_service.errors import NotFound
from grid_service.handlers.common import json_response, validate_query
from grid_service.schemas import Crs, LocateQuery


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
