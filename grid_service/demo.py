"""`grid-service demo`: believable traffic against a running server, so that the map comes alive.

Inspectors report the configured categories around the grid (some twice, as
duplicates; a few outside it; some fixed on the spot, with before and after
photos); citizens and a camera system report through their channels; receivers
file or void what waits for them; inspectors complete the checks (核实 before
filing, 核查 after resolution), now and then from too far away and refused
first; each department long-polls its queue, accepts, resolves and sometimes
rejects, asks for more time or a suspension, answers 督办 and appeals what closed
late; the dispatcher re-dispatches what waits; a shift lead rules on what was
returned too often, decides extensions, suspensions and appeals, and supervises
overdue cases. Everything goes through the public API, as real clients would.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import datetime as dt
import io
import random
import uuid
from dataclasses import dataclass, field
from typing import Any

import aiohttp
from PIL import Image

from grid_service.configuration.files import ConfigBundle
from grid_service.domain.deadlines import Clock

DESCRIPTIONS = {
    "illegal_construction": ["楼顶私自加盖彩钢房", "小区绿地内违建围墙", "沿街违规搭建棚厦"],
    "outdoor_barbecue": ["夜市路边露天烧烤，油烟大", "居民楼下烧烤摊占用人行道"],
    "street_occupation": ["商户出店经营，占用盲道", "水果摊占道经营"],
    "construction_dust": ["工地渣土未苫盖", "运输车辆遗撒，扬尘严重"],
    "cooking_fumes": ["饭店油烟直排", "油烟净化器未开启"],
    "straw_burning": ["田间焚烧秸秆，浓烟", "路边焚烧落叶杂草"],
    "exposed_garbage": ["垃圾箱满溢", "道路边暴露垃圾成堆"],
    "illegal_small_ads": ["电线杆小广告", "墙体喷涂办证广告"],
    "small_coal_boiler": ["小锅炉冒黑烟", "燃煤小锅炉未拆除"],
    "road_damage": ["路面坑槽", "井盖破损"],
    "road_snow_ice": ["人行道积雪结冰未清", "路口冰包影响通行"],
    "safety_hazard": ["广告牌松动有坠落风险", "消防通道堵塞"],
}
OUTSIDE_SHARE = 0.04  # reports beyond the grid: they wait for the dispatcher as outside_grid
DUPLICATE_SHARE = 0.10  # a second report of a spot already reported
REJECT_SHARE = 0.08
FAIL_CHECK_SHARE = 0.15
CITIZEN_SHARE = 0.2  # through the citizens' app (source public: checked first, then filed by a receiver)
CAMERA_SHARE = 0.08  # through the video-analytics channel (source sensor)
SELF_HANDLED_SHARE = 0.05  # fixed on the spot by the inspector
VOID_SHARE = 0.1  # of what waits for a receiver
NOT_FOUND_SHARE = 0.15  # checks that find nothing there
TOO_FAR_SHARE = 0.12  # checks first sent from the wrong place (refused: too far)
EXTEND_SHARE = 0.12  # of accepted cases: the department asks for more time
SUSPEND_SHARE = 0.05  # of accepted cases: the department asks to suspend it for a few minutes
APPROVE_SHARE = 0.7  # of requests the center decides
SUPERVISE_SHARE = 0.3  # of overdue cases the shift lead sees: 督办


class DemoError(RuntimeError):
    """The demo cannot run against this server."""


@dataclass
class DemoTokens:
    inspectors: list[str]
    dispatcher: str
    departments: dict[str, str]  # department code -> token
    receiver: str | None = None
    citizens: str | None = None  # a channel token of source public
    camera: str | None = None  # a channel token of source sensor
    shift_lead: str | None = None


@dataclass
class World:
    categories: list[str]
    departments: list[str]
    bbox: tuple[float, float, float, float]
    conditions: dict[str, str | None] = field(default_factory=dict)  # category -> the condition to file under
    recent: list[tuple[str, float, float]] = field(default_factory=list)  # (category, lon, lat)
    photos: list[str] = field(default_factory=list)  # uploaded photo ids: before, after


class Demo:
    def __init__(
        self, base_url: str, tokens: DemoTokens, *, rate: float, seed: int | None = None, pace: float = 1.0
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.tokens = tokens
        self.rate = rate
        self.pace = pace  # scales every think time (tests run the same story faster)
        self.random = random.Random(seed)
        self.counts: dict[str, int] = {}
        self._working: set[asyncio.Task[None]] = set()
        self._late: set[str] = set()  # cases this run resolved after their deadline
        self._waiting: set[str] = set()  # cases whose department asked for more time or a suspension

    async def run(self, duration: float | None) -> dict[str, int]:
        timeout = aiohttp.ClientTimeout(total=60)
        async with aiohttp.ClientSession(timeout=timeout) as session:
            self.session = session
            world = await self._world()
            tasks = [
                asyncio.create_task(self._inspectors(world)),
                asyncio.create_task(self._dispatcher(world)),
                *(asyncio.create_task(self._department(code)) for code in self.tokens.departments),
            ]
            if self.tokens.receiver:
                tasks += [asyncio.create_task(self._receiver(world)), asyncio.create_task(self._checker(world))]
            if self.tokens.shift_lead:
                tasks.append(asyncio.create_task(self._shift_lead(world)))
            else:
                tasks.append(asyncio.create_task(self._verifier()))
            try:
                if duration is None:
                    await asyncio.gather(*tasks)
                else:
                    await asyncio.sleep(duration)
            finally:
                for task in [*tasks, *self._working]:
                    task.cancel()
                await asyncio.gather(*tasks, *self._working, return_exceptions=True)
        return self.counts

    async def _pause(self, seconds: float) -> None:
        await asyncio.sleep(seconds * self.pace)

    async def _call(
        self, method: str, path: str, token: str, body: Any = None, *, meant: str | None = None
    ) -> tuple[int, Any]:
        """One request; ``meant`` names a refusal the story asks for (counted under that name)."""
        headers = {"Authorization": f"Bearer {token}"}
        async with self.session.request(method, self.base_url + path, json=body, headers=headers) as response:
            answer = await response.json(content_type=None) if response.status != 204 else None
        last = path.split("?")[0].rsplit("/", 1)[-1]
        key = f"{method} {'case' if len(last) == 36 and last.count('-') == 4 else last} {response.status}"
        if meant and response.status >= 400:
            key = f"{key} ({meant}, as meant)"
        self.counts[key] = self.counts.get(key, 0) + 1
        return response.status, answer

    async def _upload(self, data: bytes, token: str) -> str:
        headers = {"Authorization": f"Bearer {token}", "Content-Type": "image/png"}
        async with self.session.post(f"{self.base_url}/api/v1/media", data=data, headers=headers) as response:
            answer = await response.json()
        return str(answer["id"])

    async def _world(self) -> World:
        token = self.tokens.dispatcher
        status, categories = await self._call("GET", "/api/v1/categories", token)
        if status == 401:
            raise DemoError(
                f"the server at {self.base_url} does not know the demo's tokens: run the demo with the same "
                "GRID_SERVICE_DATABASE_URL (or GRID_SERVICE_DATA_DIR) as the server"
            )
        _, departments = await self._call("GET", "/api/v1/departments", token)
        _, cells = await self._call("GET", "/api/v1/grids", token)
        xs = [x for f in cells["features"] for x, _ in _points(f["geometry"])]
        ys = [y for f in cells["features"] for _, y in _points(f["geometry"])]
        world = World(
            categories=[c["code"] for c in categories["categories"]],
            departments=[d["code"] for d in departments["departments"]],
            bbox=(min(xs), min(ys), max(xs), max(ys)),
            conditions={c["code"]: c.get("default_condition") for c in categories["categories"]},
        )
        if self.tokens.inspectors:  # a before and an after photo, for the checks and the self-disposals
            world.photos = [
                await self._upload(_photo(colour), self.tokens.inspectors[0]) for colour in ("#8a6d3b", "#3b8a4e")
            ]
        return world

    async def _inspectors(self, world: World) -> None:
        while True:
            await asyncio.sleep(self.random.expovariate(self.rate))
            await self._report(world)

    async def _report(self, world: World) -> None:
        rng = self.random
        min_lon, min_lat, max_lon, max_lat = world.bbox
        draw = rng.random()
        if draw < DUPLICATE_SHARE and world.recent:
            category, lon, lat = rng.choice(world.recent)
            lon, lat = lon + rng.uniform(-5e-5, 5e-5), lat + rng.uniform(-5e-5, 5e-5)  # a few metres away
        elif draw < DUPLICATE_SHARE + OUTSIDE_SHARE:
            category = rng.choice(world.categories)
            lon, lat = max_lon + rng.uniform(0.01, 0.03), rng.uniform(min_lat, max_lat)
        else:
            category = rng.choice(world.categories)
            lon, lat = rng.uniform(min_lon, max_lon), rng.uniform(min_lat, max_lat)
            world.recent = [*world.recent[-49:], (category, lon, lat)]
        body: dict[str, Any] = {
            "client_id": uuid.uuid4().hex,
            "category": category,
            "description": rng.choice(DESCRIPTIONS.get(category, ["现场巡查发现问题"])),
            "urgent": rng.random() < 0.1,
            "location": {"type": "Point", "coordinates": [round(lon, 6), round(lat, 6)]},
        }
        token = rng.choice(self.tokens.inspectors)
        channel = rng.random()
        if self.tokens.citizens and channel < CITIZEN_SHARE:
            token = self.tokens.citizens
        elif self.tokens.camera and channel < CITIZEN_SHARE + CAMERA_SHARE:
            token = self.tokens.camera
        elif channel > 1 - SELF_HANDLED_SHARE and len(world.photos) == 2:
            body.update(self_handled=True, media=world.photos[:1], after_media=world.photos[1:], urgent=False)
            body["description"] = "已现场处置 " + str(body["description"])
        await self._call("POST", "/api/v1/reports", token, body)

    async def _department(self, department: str) -> None:
        """Long-poll the queue; accept (or reject) what arrives, resolve it a little later."""
        token = self.tokens.departments[department]
        cursor = ""
        while True:
            status, page = await self._call("GET", f"/api/v1/queue?wait=20&after={cursor}", token)
            if status != 200:
                await self._pause(2)
                continue
            cursor = page["cursor"]
            for case in page["cases"]:
                if case["department"] and case["department"]["code"] == department:
                    work = asyncio.create_task(self._work(case, token))
                    self._working.add(work)
                    work.add_done_callback(self._working.discard)

    async def _work(self, case: dict[str, Any], token: str) -> None:
        rng = self.random
        path = f"/api/v1/cases/{case['id']}"
        if case["status"] == "dispatched":
            await self._pause(rng.uniform(2, 15))
            if rng.random() < REJECT_SHARE:
                await self._call(
                    "POST", f"{path}/reject", token, {"reason": "not_our_responsibility", "note": "不属本部门职责"}
                )
                return
            await self._call("POST", f"{path}/accept", token, {})
            draw = rng.random()
            if draw < EXTEND_SHARE + SUSPEND_SHARE:
                await self._pause(rng.uniform(1, 5))
                if draw < EXTEND_SHARE:
                    request, body = "extension", {"reason": "需协调产权单位 waiting on the owner"}
                else:
                    later = dt.datetime.now(dt.UTC) + dt.timedelta(seconds=rng.uniform(60, 180) * self.pace)
                    request = "suspension"
                    body = {"until": later.isoformat(), "reason": "season", "note": "低温暂停施工 too cold to work"}
                status, _ = await self._call("POST", f"{path}/{request}", token, body)
                if status == 200:  # decided (or resumed at its until), the queue brings it back
                    self._waiting.add(case["id"])
                    return
            await self._pause(rng.uniform(5, 40))
            await self._resolve(case, token, "已处置 handled")
        elif (
            case["status"] == "in_progress"
            and not case["open_request"]
            and (case["rework_count"] or case["id"] in self._waiting)
        ):
            self._waiting.discard(case["id"])
            await self._pause(rng.uniform(5, 30))  # reworked, or its request decided: work it (again)
            await self._resolve(case, token, "已整改 reworked")
        elif case["status"] == "closed" and case["id"] in self._late:
            self._late.discard(case["id"])
            if rng.random() < 0.5:  # closed late: appeal it, once
                await self._call("POST", f"{path}/appeal", token, {"note": "暴雨影响施工 held up by the storm"})
        if case.get("supervision_due_at"):
            await self._call("POST", f"{path}/supervise/reply", token, {"note": "已安排处置 in hand"}, meant="answered")

    async def _resolve(self, case: dict[str, Any], token: str, note: str) -> None:
        status, after = await self._call(
            "POST", f"/api/v1/cases/{case['id']}/resolve", token, {"note": note}, meant="changed meanwhile"
        )
        if status != 200:
            return
        # The resolution is followed by the check it opens (核查): read the resolution's own record.
        resolution = next(e for e in reversed(after["history"]) if e["type"] == "case.resolved")
        if resolution["data"].get("on_time") is False:
            self._late.add(case["id"])  # when it closes, its department may appeal

    async def _shift_lead(self, world: World) -> None:
        """Rule on what was returned too often; decide extensions, suspensions and appeals (the
        dispatcher reviews an appeal first); supervise some overdue cases."""
        rng = self.random
        lead, dispatcher = self.tokens.shift_lead, self.tokens.dispatcher
        assert lead is not None
        supervised: set[str] = set()
        while True:
            await self._pause(4)
            status, snapshot = await self._call("GET", "/api/v1/map/cases", lead)
            if status != 200:
                continue
            for feature in snapshot["features"]:
                p = feature["properties"]
                path = f"/api/v1/cases/{p['id']}"
                if p["status"] == "arbitration":
                    await self._pause(rng.uniform(0.5, 2))
                    ruling = {
                        "department": rng.choice(world.departments),
                        "fault": rng.choice(["dispatcher", "department", "none"]),
                        "note": "经核实，按职责划分 ruled by the responsibility list",
                    }
                    await self._call("POST", f"{path}/rule", lead, ruling, meant="ruled meanwhile")
                elif p["open_request"] in ("extension", "suspension"):
                    await self._pause(rng.uniform(0.5, 2))
                    decision = {"approve": rng.random() < APPROVE_SHARE, "note": "值班长审批 decided"}
                    await self._call("POST", f"{path}/{p['open_request']}/decide", lead, decision, meant="decided")
                elif p["overdue"] and p["id"] not in supervised and rng.random() < SUPERVISE_SHARE:
                    supervised.add(p["id"])
                    body = {
                        "level": rng.choice(["urge", "supervise", "listed"]),
                        "note": "请限期处置",
                        "reply_hours": 1,
                    }
                    await self._call("POST", f"{path}/supervise", lead, body, meant="done meanwhile")
            # Appeals are of closed cases, which the map does not hold: their own list.
            status, appeals = await self._call("GET", "/api/v1/cases?open_request=appeal&limit=100", lead)
            for case in appeals["cases"] if status == 200 else []:
                await self._pause(rng.uniform(0.5, 2))
                token = dispatcher if case["open_request"]["stage"] == "dispatcher" else lead
                decision = {"approve": rng.random() < APPROVE_SHARE, "note": "申诉审核 reviewed"}
                path = f"/api/v1/cases/{case['id']}"
                await self._call("POST", f"{path}/appeal/review", token, decision, meant="reviewed")

    async def _dispatcher(self, world: World) -> None:
        """Send waiting cases somewhere sensible; cancel a few reported outside the district."""
        rng = self.random
        token = self.tokens.dispatcher
        while True:
            await self._pause(5)
            status, page = await self._call("GET", "/api/v1/cases?status=pending_dispatch&limit=50", token)
            if status != 200:
                continue
            for case in page["cases"]:
                await self._pause(rng.uniform(0.2, 1.5))
                path = f"/api/v1/cases/{case['id']}"
                if case["pending_reason"] == "outside_grid" and rng.random() < 0.5:
                    await self._call("POST", f"{path}/cancel", token, {"note": "不在辖区 outside the district"})
                else:
                    department = rng.choice(world.departments)
                    await self._call("POST", f"{path}/dispatch", token, {"department": department})

    async def _receiver(self, world: World) -> None:
        """File what waits for a receiver (under the category's condition), void a few."""
        rng = self.random
        token = self.tokens.receiver
        assert token is not None
        while True:
            await self._pause(3)
            status, page = await self._call("GET", "/api/v1/cases?status=reported&limit=50", token)
            if status != 200:
                continue
            for case in page["cases"]:
                status, whole = await self._call("GET", f"/api/v1/cases/{case['id']}", token)
                if status != 200 or any(c["status"] == "open" for c in whole["checks"]):
                    continue  # an inspector is still looking
                await self._pause(rng.uniform(0.2, 1.0))
                path = f"/api/v1/cases/{case['id']}"
                if rng.random() < VOID_SHARE:
                    await self._call("POST", f"{path}/void", token, {"reason": rng.choice(["duplicate", "invalid"])})
                else:
                    condition = world.conditions.get(case["category"]["code"])
                    await self._call("POST", f"{path}/file", token, {"condition": condition} if condition else {})

    async def _checker(self, world: World) -> None:
        """Inspectors complete the checks in the receivers' queue (the shipped configuration names no
        inspectors, so every check waits there); some first from too far away, refused."""
        token = self.tokens.receiver
        assert token is not None
        cursor = ""
        while True:
            status, page = await self._call("GET", f"/api/v1/tasks?status=open&wait=5&after={cursor}", token)
            if status != 200:
                await self._pause(2)
                continue
            cursor = page["cursor"]
            for task in page["tasks"]:
                work = asyncio.create_task(self._check(task, world))
                self._working.add(work)
                work.add_done_callback(self._working.discard)

    async def _check(self, task: dict[str, Any], world: World) -> None:
        rng = self.random
        inspector = rng.choice(self.tokens.inspectors)
        await self._pause(rng.uniform(1, 6))
        status, case = await self._call("GET", f"/api/v1/cases/{task['case_id']}", inspector)
        if status != 200 or not case["location"]:
            return
        lon, lat = case["location"]["coordinates"]
        if task["kind"] == "check_report":
            outcome = "not_found" if rng.random() < NOT_FOUND_SHARE else "confirmed"
        else:
            outcome = "failed" if rng.random() < FAIL_CHECK_SHARE else "passed"
        path = f"/api/v1/tasks/{task['id']}/complete"
        body = {"outcome": outcome, "media": world.photos[-1:], "note": "现场核查 checked on site"}
        if rng.random() < TOO_FAR_SHARE:  # sent from the office, not the spot: refused
            far = {**body, "location": {"type": "Point", "coordinates": [lon + 0.01, lat]}}
            await self._call("POST", path, inspector, far, meant="too far")
            await self._pause(rng.uniform(1, 4))
        near = {"type": "Point", "coordinates": [lon + rng.uniform(-2e-4, 2e-4), lat + rng.uniform(-2e-4, 2e-4)]}
        await self._call("POST", path, inspector, {**body, "location": near}, meant="done meanwhile")

    async def _verifier(self) -> None:
        rng = self.random
        while True:
            await self._pause(2)
            inspector = rng.choice(self.tokens.inspectors)
            status, page = await self._call("GET", "/api/v1/cases?status=resolved&limit=50", inspector)
            if status != 200:
                continue
            for case in page["cases"]:
                await self._pause(rng.uniform(0.1, 0.6))
                passed = rng.random() >= FAIL_CHECK_SHARE
                note = "核查通过 checked on site" if passed else "现场仍有问题 still there"
                with contextlib.suppress(aiohttp.ClientError):
                    await self._call(
                        "POST", f"/api/v1/cases/{case['id']}/verify", inspector, {"passed": passed, "note": note}
                    )


def _points(geometry: dict[str, Any]) -> list[tuple[float, float]]:
    if geometry["type"] == "Polygon":
        return [(float(p[0]), float(p[1])) for p in geometry["coordinates"][0]]
    return [(float(p[0]), float(p[1])) for polygon in geometry["coordinates"] for p in polygon[0]]


def _photo(colour: str) -> bytes:
    """A small real PNG (the service decodes every photo)."""
    out = io.BytesIO()
    Image.new("RGB", (64, 48), colour).save(out, format="PNG")
    return out.getvalue()


def with_short_limits(bundle: ConfigBundle, *, minutes_per_hour: float = 1.0) -> ConfigBundle:
    """The configuration with every limit a minute for each of its hours (the ladder's rungs half a
    minute), on the natural clock, so that a demo shows yellow, red, overdue, escalations and
    missed sign-for limits within minutes (for a demonstration database only: it replaces the
    configuration it is loaded into). ``minutes_per_hour`` scales them further (a test's seconds)."""
    scale = minutes_per_hour / 60

    def minutes(hours: float | None) -> float | None:
        return None if hours is None else hours * scale

    categories = tuple(
        c.model_copy(
            update={
                "limit_hours": minutes(c.limit_hours),
                "urgent_limit_hours": minutes(c.urgent_limit_hours),
                "clock": Clock.NATURAL,
                "conditions": tuple(
                    k.model_copy(
                        update={
                            "limit_hours": minutes(k.limit_hours),
                            "urgent_limit_hours": minutes(k.urgent_limit_hours),
                        }
                    )
                    for k in c.conditions
                ),
            }
        )
        for c in bundle.categories
    )
    # The ladder half a minute for each hour: the shortest limit (2 minutes) and the first rung
    # (4 hours: 2 minutes) put the first escalation within five minutes of a demo's start.
    escalation = tuple(e.model_copy(update={"after_hours": e.after_hours * scale / 2}) for e in bundle.escalation)
    disputes = bundle.disputes.model_copy(update={"acceptance_hours": bundle.disputes.acceptance_hours * scale})
    return dataclasses.replace(bundle, categories=categories, escalation=escalation, disputes=disputes)
