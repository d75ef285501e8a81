import numpy as np
import pytest
import shapely

from geo.grid import METRES_PER_DEGREE, Cell, Grid


def square(code, x0, y0, size=0.01):
    return Cell(code=code, name=f"cell {code}", geometry=shapely.box(x0, y0, x0 + size, y0 + size))


@pytest.fixture
def grid():
    # A 2 x 2 block, deliberately given out of code order.
    return Grid(
        [
            square("230108001001004", 126.61, 45.61),
            square("230108001001001", 126.60, 45.60),
            square("230108001001003", 126.60, 45.61),
            square("230108001001002", 126.61, 45.60),
        ]
    )


def test_point_inside_a_cell_gets_that_cell(grid):
    hit = grid.assign(126.615, 45.605)
    assert hit is not None and hit.cell.code == "230108001001002" and not hit.snapped


def test_point_on_a_shared_edge_goes_to_the_lowest_code(grid):
    assert grid.assign(126.61, 45.605).cell.code == "230108001001001"
    assert grid.assign(126.615, 45.61).cell.code == "230108001001002"


def test_point_on_the_corner_of_four_cells_goes_to_the_lowest_code(grid):
    assert grid.assign(126.61, 45.61).cell.code == "230108001001001"


def test_point_on_the_outer_boundary_is_covered_not_snapped(grid):
    hit = grid.assign(126.60, 45.605)
    assert hit.cell.code == "230108001001001" and not hit.snapped


def test_point_just_outside_snaps_to_the_nearest_cell_within_snap_distance(grid):
    lat = 45.615
    ten_metres_west = 126.60 - 10 / (METRES_PER_DEGREE * np.cos(np.radians(lat)))
    hit = grid.assign(ten_metres_west, lat)
    assert hit.cell.code == "230108001001003" and hit.snapped
    assert hit.distance_m == pytest.approx(10, abs=0.2)


def test_point_beyond_snap_distance_is_outside(grid):
    assert grid.assign(126.60 - 50 / (METRES_PER_DEGREE * np.cos(np.radians(45.6))), 45.605) is None
    assert grid.assign(0.0, 0.0) is None


def test_snapping_can_be_turned_off():
    tight = Grid([square("230108001001001", 126.60, 45.60)], snap_m=0)
    assert tight.assign(126.5999, 45.605) is None


def test_multipolygon_cell_matches_either_part():
    parts = shapely.MultiPolygon([shapely.box(0, 0, 1, 1), shapely.box(5, 5, 6, 6)])
    grid = Grid([Cell("100000000000001", "split", parts)])
    assert grid.assign(0.5, 0.5).cell.code == "100000000000001"
    assert grid.assign(5.5, 5.5).cell.code == "100000000000001"


def test_duplicate_codes_are_refused():
    with pytest.raises(ValueError, match="duplicate"):
        Grid([square("230108001001001", 0, 0), square("230108001001001", 1, 1)])


def test_bulk_assignment_agrees_with_single_assignment(grid):
    rng = np.random.default_rng(3)
    lons = np.concatenate([rng.uniform(126.5995, 126.6205, 3000), [126.61, 126.61, 126.60]])
    lats = np.concatenate([rng.uniform(45.5995, 45.6205, 3000), [45.61, 45.605, 45.60]])
    # Snap points to a 0.0005 lattice so many fall exactly on shared edges.
    lons[:1000] = np.round(lons[:1000] / 0.0005) * 0.0005
    lats[:1000] = np.round(lats[:1000] / 0.0005) * 0.0005
    bulk = grid.assign_many(lons, lats)
    for lon, lat, index in zip(lons, lats, bulk, strict=True):
        single = grid.assign(float(lon), float(lat))
        assert (single.cell.code if single else None) == (grid.cells[index].code if index >= 0 else None)


def test_assignment_matches_geos_covers_on_clipped_and_irregular_cells():
    from geo.generate import generate_cells

    boundary = shapely.Polygon([(126.60, 45.60), (126.64, 45.60), (126.64, 45.63), (126.61, 45.625)])
    cells = generate_cells(boundary, cell_size_m=300, code_prefix="230108")
    grid = Grid(cells, snap_m=0)
    rng = np.random.default_rng(11)
    lons = rng.uniform(126.598, 126.642, 4000)
    lats = rng.uniform(45.598, 45.632, 4000)
    # Add every vertex of every cell: corners and clipped edges are where indexes go wrong.
    vertices = np.concatenate([shapely.get_coordinates(c.geometry) for c in cells])
    lons, lats = np.concatenate([lons, vertices[:, 0]]), np.concatenate([lats, vertices[:, 1]])
    truth = []
    for lon, lat in zip(lons, lats, strict=True):
        point = shapely.Point(lon, lat)
        covering = [c.code for c in cells if c.geometry.covers(point)]
        truth.append(min(covering) if covering else None)
    bulk = grid.assign_many(lons, lats)
    assert [grid.cells[i].code if i >= 0 else None for i in bulk] == truth
    singles = [(a.cell.code if a else None) for a in (grid.assign(x, y) for x, y in zip(lons, lats, strict=True))]
    assert singles == truth


def test_non_finite_points_are_outside(grid):
    assert grid.assign(float("nan"), 45.6) is None
    assert grid.assign_many(np.array([np.nan, np.inf]), np.array([45.6, 45.6])).tolist() == [-1, -1]
