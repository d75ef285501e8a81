"""GeoJSON <-> cells, with validation errors that name the feature."""

from __future__ import annotations

import json
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt
import shapely
from shapely.geometry import shape
from shapely.geometry.base import BaseGeometry

from geo import gcj02
from geo.grid import Cell

GRID_CODE_LENGTH = 15


class GridFileError(ValueError):
    """A grid file is unusable; ``problems`` lists every problem found, each naming the feature."""

    def __init__(self, source: str, problems: list[str]) -> None:
        self.source = source
        self.problems = problems
        super().__init__(f"{source}: " + "; ".join(problems))


def geometry_to_wgs84(geometry: BaseGeometry) -> BaseGeometry:
    """Convert a GCJ-02 geometry to WGS84 vertex by vertex."""

    def convert(xy: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
        lon, lat = gcj02.to_wgs84(xy[:, 0], xy[:, 1])
        return np.column_stack((lon, lat))

    return shapely.transform(geometry, convert)


def read_geojson(path: Path) -> dict[str, Any]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        raise GridFileError(str(path), [f"cannot read GeoJSON: {exc}"]) from exc
    if not isinstance(data, dict):
        raise GridFileError(str(path), ["top level is not a GeoJSON object"])
    return data


def file_crs(data: dict[str, Any], override: str | None = None) -> str:
    """The datum of a grid file: the command-line override, else a top-level "crs" member, else WGS84."""
    crs = override or data.get("crs") or "wgs84"
    if not isinstance(crs, str) or crs.lower() not in ("wgs84", "gcj02"):
        raise ValueError(f'unsupported crs {crs!r} (use "wgs84" or "gcj02")')
    return crs.lower()


def cells_from_geojson(data: dict[str, Any], *, source: str, crs: str | None = None) -> list[Cell]:
    """Parse a FeatureCollection of Polygon/MultiPolygon features with ``code`` and ``name``.

    Every feature is checked (valid polygon, 15-digit code, unique code, a name)
    and all problems are reported together. GCJ-02 input is converted to WGS84.
    """
    try:
        datum = file_crs(data, crs)
    except ValueError as exc:
        raise GridFileError(source, [str(exc)]) from exc
    if data.get("type") != "FeatureCollection" or not isinstance(data.get("features"), list):
        raise GridFileError(source, ["not a GeoJSON FeatureCollection"])
    problems: list[str] = []
    cells: list[Cell] = []
    seen: dict[str, int] = {}
    for index, feature in enumerate(data["features"]):
        props = (feature or {}).get("properties") or {}
        code = props.get("code")
        label = f"feature {index}" + (f" (code {code})" if code is not None else "")
        if not isinstance(code, str) or len(code) != GRID_CODE_LENGTH or not code.isdigit():
            problems.append(f"{label}: code must be a string of {GRID_CODE_LENGTH} digits")
            continue
        if code in seen:
            problems.append(f"{label}: duplicate cell code (also feature {seen[code]})")
            continue
        seen[code] = index
        name = props.get("name")
        if not isinstance(name, str) or not name.strip():
            problems.append(f"{label}: name is required")
            continue
        try:
            geometry = shape(feature.get("geometry"))
        except (AttributeError, TypeError, ValueError, shapely.errors.GEOSException) as exc:
            problems.append(f"{label}: unreadable geometry ({exc})")
            continue
        if geometry.geom_type not in ("Polygon", "MultiPolygon"):
            problems.append(f"{label}: geometry must be Polygon or MultiPolygon, not {geometry.geom_type}")
            continue
        if geometry.is_empty or not geometry.is_valid:
            reason = shapely.is_valid_reason(geometry) if not geometry.is_empty else "empty"
            problems.append(f"{label}: invalid polygon ({reason})")
            continue
        if datum == "gcj02":
            geometry = geometry_to_wgs84(geometry)
        minx, miny, maxx, maxy = geometry.bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            problems.append(f"{label}: coordinates outside lon [-180, 180] / lat [-90, 90]")
            continue
        cells.append(Cell(code=code, name=name.strip(), geometry=geometry))
    if not cells and not problems:
        problems.append("no features")
    if problems:
        raise GridFileError(source, problems)
    return cells


def load_boundary(path: Path, *, crs: str | None = None) -> BaseGeometry:
    """The union of all polygons in a GeoJSON file (FeatureCollection, Feature or bare geometry), in WGS84."""
    data = read_geojson(path)
    if data.get("type") == "FeatureCollection":
        geometries = [shape(f["geometry"]) for f in data.get("features", []) if f.get("geometry")]
    elif data.get("type") == "Feature":
        geometries = [shape(data["geometry"])]
    else:
        geometries = [shape(data)]
    polygons = [g for g in geometries if g.geom_type in ("Polygon", "MultiPolygon")]
    if not polygons:
        raise GridFileError(str(path), ["no Polygon or MultiPolygon in boundary file"])
    boundary = shapely.union_all([shapely.make_valid(g) for g in polygons])
    if file_crs(data, crs) == "gcj02":
        boundary = geometry_to_wgs84(boundary)
    return boundary


def cells_to_geojson(cells: Iterable[Cell]) -> dict[str, Any]:
    return {
        "type": "FeatureCollection",
        "features": [
            {
                "type": "Feature",
                "properties": {"code": c.code, "name": c.name},
                "geometry": shapely.geometry.mapping(c.geometry),
            }
            for c in cells
        ],
    }
