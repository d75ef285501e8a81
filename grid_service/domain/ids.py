"""Time-ordered identifiers (UUID version 7, RFC 9562).

Reports and cases are written at a high rate; random (version 4) keys scatter
every insert across the whole of each index, while time-ordered keys append
near the end, where the pages are already in memory.
"""

from __future__ import annotations

import os
import time
import uuid

_VERSION = 0x7 << 76
_VARIANT = 0b10 << 62


def uuid7() -> uuid.UUID:
    """48 bits of Unix milliseconds, then 74 random bits (with the version and variant fields set)."""
    millis = time.time_ns() // 1_000_000
    random_bits = int.from_bytes(os.urandom(10), "big")
    rand_a = (random_bits >> 62) & 0xFFF
    rand_b = random_bits & ((1 << 62) - 1)
    return uuid.UUID(int=(millis << 80) | _VERSION | (rand_a << 64) | _VARIANT | rand_b)
