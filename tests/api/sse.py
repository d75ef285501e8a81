"""A small Server-Sent Events reader for tests: events as the protocol defines them, with a deadline."""

from __future__ import annotations

import asyncio
import json
from dataclasses import dataclass
from typing import Any

import aiohttp


@dataclass(frozen=True)
class Event:
    id: int
    type: str
    data: dict[str, Any]


class EventReader:
    def __init__(self, response: aiohttp.ClientResponse) -> None:
        self.response = response
        self.comments: list[str] = []

    async def next(self, timeout: float = 10.0) -> Event:
        fields: dict[str, str] = {}
        async with asyncio.timeout(timeout):
            while True:
                raw = await self.response.content.readline()
                if not raw:
                    raise EOFError("the server ended the stream")
                line = raw.decode().rstrip("\r\n")
                if not line:
                    if "data" in fields:
                        return Event(int(fields["id"]), fields["event"], json.loads(fields["data"]))
                    continue
                if line.startswith(":"):
                    self.comments.append(line)
                    continue
                name, _, value = line.partition(":")
                fields[name] = value.removeprefix(" ")

    async def take(self, count: int, timeout: float = 10.0) -> list[Event]:
        return [await self.next(timeout) for _ in range(count)]

    async def silent_for(self, seconds: float) -> bool:
        """True when no event arrives within ``seconds``."""
        try:
            await self.next(seconds)
        except TimeoutError:
            return True
        return False
