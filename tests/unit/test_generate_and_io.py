import json

import pytest
import shapely

from geo import gcj02
from geo.generate import generate_cells
from geo.io import GridFileError, cells_from_geojson, cells_to_geojson

BOUNDARY = shapely.Polygon([(126.60, 45.60), (126.64, 45.60), (126.64, 45.63), (126.61, 45.625)])


def test_generated_cells_tile_the_boundary_exactly():
    cells = generate_cells(BOUNDARY, cell_size_m=250, code_prefix="230108")
    union = shapely.union_all([c.geometry for c in cells])
    # vertices are rounded to 1e-7 degrees (about 1 cm), so allow centimetre slivers on slanted edges
    assert union.symmetric_difference(BOUNDARY).area < BOUNDARY.area * 1e-5
    assert sum(c.geometry.area for c in cells) == pytest.approx(BOUNDARY.area, rel=1e-5)


def test_generated_codes_are_15_digits_unique_and_hierarchical():
    cells = generate_cells(BOUNDARY, cell_size_m=250, code_prefix="230108", community_cells=3, street_communities=2)
    codes = [c.code for c in cells]
    assert len(set(codes)) == len(codes)
    assert all(len(c) == 15 and c.isdigit() and c.startswith("230108") for c in codes)
    assert len({c[:9] for c in codes}) > 1, "several streets"
    assert len({c[:12] for c in codes}) > len({c[:9] for c in codes}), "several communities per street"


def test_a_full_cell_is_the_requested_size():
    cells = generate_cells(shapely.box(126.6, 45.6, 126.7, 45.7), cell_size_m=500, code_prefix="230108")
    width_m = (cells[0].geometry.bounds[2] - cells[0].geometry.bounds[0]) * 111_320 * 0.7
    assert 300 < width_m < 700


@pytest.mark.parametrize("prefix", ["23010", "2301088", "abcdef"])
def test_prefix_must_be_six_digits(prefix):
    with pytest.raises(ValueError, match="6-digit"):
        generate_cells(BOUNDARY, cell_size_m=250, code_prefix=prefix)


def collection(*features, **extra):
    return {"type": "FeatureCollection", "features": list(features), **extra}


def feature(code, coords, name="cell"):
    return {
        "type": "Feature",
        "properties": {"code": code, "name": name},
        "geometry": {"type": "Polygon", "coordinates": [coords]},
    }


SQUARE = [[126.6, 45.6], [126.61, 45.6], [126.61, 45.61], [126.6, 45.61], [126.6, 45.6]]
BOWTIE = [[126.6, 45.6], [126.61, 45.61], [126.61, 45.6], [126.6, 45.61], [126.6, 45.6]]


def test_every_problem_is_reported_with_its_feature():
    with pytest.raises(GridFileError) as err:
        cells_from_geojson(
            collection(
                feature("230108001001001", SQUARE),
                feature("230108001001001", SQUARE),
                feature("2301", SQUARE),
                feature("230108001001009", BOWTIE),
            ),
            source="grids/x.geojson",
        )
    problems = err.value.problems
    assert any("feature 1" in p and "duplicate cell code" in p for p in problems)
    assert any("feature 2" in p and "15 digits" in p for p in problems)
    assert any("feature 3" in p and "invalid polygon" in p for p in problems)
    assert "grids/x.geojson" in str(err.value)


def test_gcj02_grid_is_converted_to_wgs84():
    gcj_ring = [list(gcj02.to_gcj02(lon, lat)) for lon, lat in SQUARE]
    [cell] = cells_from_geojson(collection(feature("230108001001001", gcj_ring), crs="gcj02"), source="g")
    assert cell.geometry.centroid.distance(shapely.Polygon(SQUARE).centroid) < 1e-7


def test_round_trip_through_geojson():
    cells = generate_cells(BOUNDARY, cell_size_m=1000, code_prefix="230108")
    again = cells_from_geojson(json.loads(json.dumps(cells_to_geojson(cells))), source="g")
    assert [c.code for c in again] == [c.code for c in cells]
