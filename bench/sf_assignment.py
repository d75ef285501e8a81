"""Assignment on real data: San Francisco planning neighbourhoods as a grid, 10,000 real 311 requests.

Usage: python bench/sf_assignment.py [--data ../shared/data]

Prints how many requests each path assigns, whether the per-point and bulk
paths agree, and the agreement with the neighbourhood recorded in the data
(for the rows whose recorded name is a planning-neighbourhood name; the 311
data also uses finer local names such as "Tenderloin" that have no polygon).
"""

from __future__ import annotations

import argparse
import csv
import json
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import shapely
from shapely.geometry import shape

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from geo.grid import Cell, Grid

DEFAULT_DATA = Path(__file__).resolve().parents[2] / "shared" / "data"


@dataclass
class SfResult:
    points: int
    covered: int
    snapped: int
    outside: int
    bulk_equals_single: bool
    comparable: int
    agreeing: int
    single_per_s: float
    bulk_per_s: float

    @property
    def agreement(self) -> float:
        return self.agreeing / self.comparable if self.comparable else 0.0


def load(data: Path) -> tuple[Grid, list[str], np.ndarray, np.ndarray, list[str]]:
    collection = json.loads((data / "areas" / "sf_planning_neighborhoods.geojson").read_text())
    features = sorted(collection["features"], key=lambda f: f["properties"]["neighborho"])
    cells = [
        Cell(
            code=f"{index + 1:015d}",
            name=f["properties"]["neighborho"],
            geometry=shapely.make_valid(shape(f["geometry"])),
        )
        for index, f in enumerate(features)
    ]
    with (data / "311" / "sf311_cases_sample_10k.csv").open(encoding="utf-8") as handle:
        rows = [r for r in csv.DictReader(handle) if r["latitude"]]
    lons = np.array([float(r["longitude"]) for r in rows])
    lats = np.array([float(r["latitude"]) for r in rows])
    return Grid(cells), [c.name for c in cells], lons, lats, [r["neighborhood"] for r in rows]


def run(data: Path) -> SfResult:
    grid, names, lons, lats, recorded = load(data)
    started = time.perf_counter()
    single = [grid.assign(float(x), float(y)) for x, y in zip(lons, lats, strict=True)]
    single_s = time.perf_counter() - started
    started = time.perf_counter()
    bulk = grid.assign_many(lons, lats)
    bulk_s = time.perf_counter() - started
    single_idx = [grid.cells.index(a.cell) if a else -1 for a in single]
    known = set(names)
    comparable = [(a, r) for a, r in zip(single, recorded, strict=True) if r in known]
    return SfResult(
        points=len(lons),
        covered=sum(1 for a in single if a and not a.snapped),
        snapped=sum(1 for a in single if a and a.snapped),
        outside=sum(1 for a in single if a is None),
        bulk_equals_single=single_idx == bulk.tolist(),
        comparable=len(comparable),
        agreeing=sum(1 for a, r in comparable if a and a.cell.name == r),
        single_per_s=len(lons) / single_s,
        bulk_per_s=len(lons) / bulk_s,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--data", type=Path, default=DEFAULT_DATA)
    args = parser.parse_args()
    r = run(args.data)
    print(f"points with coordinates     {r.points}")
    print(f"covered by a neighbourhood  {r.covered}")
    print(f"snapped (within 30 m)       {r.snapped}")
    print(f"outside                     {r.outside}")
    print(f"bulk path equals per-point  {r.bulk_equals_single}")
    print(
        f"agreement with recorded     {r.agreeing}/{r.comparable} = {r.agreement:.2%} "
        "(rows whose recorded name is a planning neighbourhood)"
    )
    print(f"per-point {r.single_per_s:,.0f} points/s, bulk {r.bulk_per_s:,.0f} points/s")


if __name__ == "__main__":
    main()
