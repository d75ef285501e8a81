"""Pure, synchronous geometry for grid-service: datum conversion, grids, assignment.

Nothing in this package touches asyncio or a database. Coordinates are always
(longitude, latitude) in decimal degrees, WGS84 unless a name says otherwise.
"""
