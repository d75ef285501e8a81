"""docs/nginx.conf in front of the service, through https on loopback: the service's security
headers arrive intact, a report and a sign-in work (the cookie Secure, the trusted address the
proxy's record, not the client's claim), the live feed streams and a long-poll wakes through the
proxy, and a photo-sized body reaches the service. The file is rendered for loopback ports and a
self-signed certificate; the rest of it is run as written."""

from __future__ import annotations

import asyncio
import contextlib
import grp
import io
import os
import pwd
import re
import signal
import ssl
import subprocess
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import pytest
from aiohttp.test_utils import TestServer

from grid_service import keys
from grid_service.app import create_app
from grid_service.handlers.media import MAX_BYTES as PHOTO_MAX_BYTES
from grid_service.sessions import SESSION_COOKIE
from grid_service.settings import Settings
from tests.api.helpers import IN_CELL_1, IN_CELL_2, report
from tests.api.sse import EventReader
from tests.conftest import PASSWORD, bearer, make_user, settings_for
from tests.ops.tools import program
from tests.served import free_port

CONFIG = Path(__file__).parents[2] / "docs" / "nginx.conf"
START_WITHIN_S = 10


def render(config: str, *, root: Path, https_port: int, http_port: int, upstream_port: int) -> str:
    """The file with loopback ports, this test's certificate, paths and user; every replaced value
    must be there, so that the test cannot drift from the file without failing."""
    user = pwd.getpwuid(os.getuid()).pw_name
    group = grp.getgrgid(os.getgid()).gr_name
    replacements = {
        "user www-data;": f"user {user} {group};",
        "pid /run/nginx-grid.pid;": f"pid {root}/nginx.pid;",
        "/var/log/nginx/grid-error.log": f"{root}/error.log",
        "/var/log/nginx/grid-access.log": f"{root}/access.log",
        "listen 443 ssl http2;": f"listen 127.0.0.1:{https_port} ssl http2;",
        "listen 80;": f"listen 127.0.0.1:{http_port};",
        "/etc/ssl/grid-service/fullchain.pem": f"{root}/cert.pem",
        "/etc/ssl/grid-service/privkey.pem": f"{root}/key.pem",
        "server 127.0.0.1:8080;": f"server 127.0.0.1:{upstream_port};",
    }
    for old, new in replacements.items():
        assert old in config, f"docs/nginx.conf no longer has {old!r}: update the test with it"
        config = config.replace(old, new)
    # Where nginx buffers bodies and answers: the temp dir, not the distribution's /var/lib/nginx.
    temp = "".join(
        f"    {kind}_temp_path {root}/{kind};\n" for kind in ("client_body", "proxy", "fastcgi", "uwsgi", "scgi")
    )
    return config.replace("http {\n", "http {\n" + temp, 1)


def self_signed(root: Path) -> ssl.SSLContext:
    """A certificate for 127.0.0.1 (openssl), and a client context that trusts it and only it."""
    openssl = program("openssl", "needed for the proxy's certificate")
    subprocess.run(
        [openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
         "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(root / "key.pem"), "-out", str(root / "cert.pem")],
        check=True, capture_output=True, timeout=30,
    )  # fmt: skip
    return ssl.create_default_context(cafile=str(root / "cert.pem"))


@dataclass
class Proxied:
    base: str  # https://127.0.0.1:port
    http_base: str  # the plain-HTTP listener, which only redirects
    ssl: ssl.SSLContext
    server: TestServer
    root: Path


@pytest.fixture
def nginx_bin() -> str:
    return program("nginx", "the reverse-proxy configuration (docs/nginx.conf) is not tested here")


@contextlib.contextmanager
def running_nginx(nginx: str, root: Path) -> Iterator[subprocess.Popen[bytes]]:
    """nginx in the foreground on the rendered file, stopped (SIGTERM, at worst SIGKILL) afterwards."""
    command = [nginx, "-p", str(root), "-e", str(root / "error.log"), "-c", str(root / "nginx.conf")]
    checked = subprocess.run([*command, "-t"], capture_output=True, text=True, timeout=30)
    assert checked.returncode == 0, f"nginx -t refuses docs/nginx.conf: {checked.stderr}"
    process = subprocess.Popen([*command, "-g", "daemon off;"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        yield process
    finally:
        process.send_signal(signal.SIGTERM)  # fast shutdown: open feeds are cut
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


async def until_listening(process: subprocess.Popen[bytes], port: int, root: Path) -> None:
    for _ in range(START_WITHIN_S * 10):
        if process.poll() is not None:
            raise AssertionError(f"nginx exited: {(root / 'error.log').read_text(errors='replace')}")
        try:
            _, writer = await asyncio.open_connection("127.0.0.1", port)
        except OSError:
            await asyncio.sleep(0.1)
            continue
        writer.close()
        await writer.wait_closed()
        return
    raise AssertionError(f"nginx did not listen on {port} within {START_WITHIN_S} s")


@pytest.fixture
async def proxied(nginx_bin: str, db_url: str, tmp_path: Path) -> AsyncIterator[Proxied]:
    """The service (in this process, GRID_SERVICE_BEHIND_PROXY on) and nginx in front of it."""
    settings = settings_for(db_url, behind_proxy=True)
    # As `serve` runs it: a connection that brings no request within header_timeout_s is closed.
    server = TestServer(
        create_app(settings), host="127.0.0.1", port=free_port(), keepalive_timeout=settings.header_timeout_s
    )
    await server.start_server()
    try:
        client_ssl = self_signed(tmp_path)
        https_port, http_port = free_port(), free_port()
        rendered = render(
            CONFIG.read_text(), root=tmp_path, https_port=https_port, http_port=http_port, upstream_port=server.port
        )
        (tmp_path / "nginx.conf").write_text(rendered)
        with running_nginx(nginx_bin, tmp_path) as process:
            await until_listening(process, https_port, tmp_path)
            yield Proxied(
                f"https://127.0.0.1:{https_port}", f"http://127.0.0.1:{http_port}", client_ssl, server, tmp_path
            )
    finally:
        await server.close()


@pytest.fixture
async def https(proxied: Proxied) -> AsyncIterator[aiohttp.ClientSession]:
    """A client that trusts the test's certificate (verified, not switched off) and keeps no cookies."""
    connector = aiohttp.TCPConnector(ssl=proxied.ssl)
    async with aiohttp.ClientSession(proxied.base, connector=connector, cookie_jar=aiohttp.DummyCookieJar()) as session:
        yield session


def assert_security_headers(response: aiohttp.ClientResponse) -> None:
    headers = response.headers
    assert headers["X-Content-Type-Options"] == "nosniff"
    assert headers["Referrer-Policy"] == "no-referrer"
    assert "frame-ancestors 'none'" in headers["Content-Security-Policy"]
    assert len(headers.getall("Content-Security-Policy")) == 1, "one policy: the service's"
    assert headers["Strict-Transport-Security"] == "max-age=31536000", "the proxy's own"
    assert "X-Request-ID" in headers


async def test_a_page_keeps_the_services_security_headers(https):
    async with https.get("/app/") as page:
        assert page.status == 200 and page.content_type == "text/html"
        assert_security_headers(page)
        policy = page.headers["Content-Security-Policy"]
        assert "script-src 'self';" in policy and "unsafe-inline" not in policy and "default-src 'none'" in policy
    async with https.get("/static/leaflet/leaflet.js") as script:
        assert script.status == 200
        assert_security_headers(script)


async def test_plain_http_only_redirects_to_https(proxied):
    async with (
        aiohttp.ClientSession() as plain,
        plain.get(f"{proxied.http_base}/app/", allow_redirects=False) as answer,
    ):
        assert answer.status == 301
        assert answer.headers["Location"].startswith("https://127.0.0.1/app/")


async def test_a_report_goes_through_and_its_answer_is_not_stored(https, tokens):
    async with https.post("/api/v1/reports", json=report(point=IN_CELL_1), headers=bearer(tokens["inspector"])) as made:
        body = await made.json()
        assert made.status == 201, body
        assert made.headers["Cache-Control"] == "no-store"
        assert_security_headers(made)
    async with https.get(f"/api/v1/cases/{body['case_id']}", headers=bearer(tokens["viewer"])) as case:
        assert case.status == 200 and case.headers["Cache-Control"] == "no-store"
        assert (await case.json())["case_no"] == body["case_no"]


async def test_a_sign_in_behind_the_proxy_is_secure_and_recorded_from_the_proxys_address(https, db):
    username = await make_user(db, "li.ming", "viewer")
    claimed = {"X-Forwarded-For": "203.0.113.7"}  # a client's claim: nginx appends what it saw after it
    async with https.post(
        "/api/v1/session", json={"username": username, "password": PASSWORD}, headers=claimed
    ) as done:
        assert done.status == 200, await done.text()
        cookie = done.cookies[SESSION_COOKIE]
        assert cookie["secure"] and cookie["httponly"], "Secure: X-Forwarded-Proto said https"
        assert done.headers["Cache-Control"] == "no-store"
    address = await db.fetchval(
        "SELECT s.address FROM sessions s JOIN users u ON u.id = s.user_id WHERE u.username = $1", username
    )
    assert address == "127.0.0.1", "the address nginx saw, not the one the client claimed"
    async with https.get("/api/v1/session", headers={"Cookie": f"{SESSION_COOKIE}={cookie.value}"}) as again:
        assert again.status == 200 and (await again.json())["user"]["username"] == username


async def test_the_live_feed_streams_through_the_proxy(https, tokens):
    async with https.get("/api/v1/feed", params={"access_token": tokens["viewer"]}) as feed:
        assert feed.status == 200 and feed.content_type == "text/event-stream"
        assert feed.headers["Cache-Control"] == "no-store"
        # The headers came through, so the subscription is in place: what is committed now is sent
        # at once; a buffering proxy would hold it until its buffer filled or the stream ended.
        async with https.post("/api/v1/reports", json=report(), headers=bearer(tokens["inspector"])) as made:
            case_id = (await made.json())["case_id"]
        events = EventReader(feed)
        created = await events.next(timeout=10)
        assert (created.type, created.data["properties"]["id"]) == ("case.created", case_id)


async def test_a_parked_long_poll_wakes_through_the_proxy(https, proxied, tokens):
    department = bearer(tokens["department"])
    async with https.get("/api/v1/queue", params={"wait": "0"}, headers=department) as first:
        cursor = (await first.json())["cursor"]

    async def long_poll() -> dict:
        async with https.get("/api/v1/queue", params={"wait": "20", "after": cursor}, headers=department) as answer:
            assert answer.status == 200
            return await answer.json()

    waiting = asyncio.create_task(long_poll())
    tracker = proxied.server.app[keys.TRACKER]
    for _ in range(1000):  # bounded: 10 s for the poll to park in the service
        if tracker.waiters:
            break
        await asyncio.sleep(0.01)
    assert tracker.waiters, "the long-poll never reached the service"
    async with https.post("/api/v1/reports", json=report(point=IN_CELL_2), headers=bearer(tokens["inspector"])) as made:
        case_id = (await made.json())["case_id"]
    woken = await asyncio.wait_for(waiting, timeout=15)
    assert [c["id"] for c in woken["cases"]] == [case_id]


async def test_a_body_over_the_photo_limit_meets_the_services_own_refusal(https, tokens):
    too_big = io.BytesIO(b"\x89PNG" + bytes(PHOTO_MAX_BYTES + 512 * 1024))
    headers = {**bearer(tokens["inspector"]), "Content-Type": "image/png"}
    async with https.post("/api/v1/media", data=too_big, headers=headers) as refused:
        assert refused.status == 413
        assert refused.content_type == "application/json", "the service's envelope: nginx let the body through"
        assert (await refused.json())["error"]["code"] == "payload_too_large"


async def test_metrics_are_not_served_through_the_public_proxy(https, tokens):
    async with https.get("/metrics", headers=bearer(tokens["admin"])) as answer:
        assert answer.status == 404


def _directive(block: str, name: str) -> str:
    found = re.search(rf"^\s*{name}\s+([^;]+);", block, re.MULTILINE)
    assert found, f"no {name} in {block[:60]!r}"
    return found.group(1).strip()


def _location(config: str, path: str) -> str:
    found = re.search(rf"location = {re.escape(path)} \{{(.*?)\}}", config, re.DOTALL)
    assert found, f"docs/nginx.conf has no location = {path}"
    return found.group(1)


def _seconds(value: str) -> float:
    number, unit = re.fullmatch(r"(\d+)([smh]?)", value).groups()  # type: ignore[union-attr]
    return float(number) * {"": 1, "s": 1, "m": 60, "h": 3600}[unit]


def test_the_timeouts_and_the_body_limit_fit_the_service():
    """What no bounded run can show: a feed silent between heartbeats and a 60 s long-poll are not
    cut by the proxy, and the largest body the service takes fits. Runs without nginx too."""
    config = re.sub(r"#.*", "", CONFIG.read_text())  # the directives, without the comments
    defaults = Settings()
    feed = _location(config, "/api/v1/feed")
    assert _directive(feed, "proxy_buffering") == "off"
    assert _seconds(_directive(feed, "proxy_read_timeout")) >= 2 * defaults.feed_heartbeat_s
    for path in ("/api/v1/queue", "/api/v1/tasks"):
        assert _seconds(_directive(_location(config, path), "proxy_read_timeout")) > 60, path
    limit = _directive(config, "client_max_body_size")
    assert limit.endswith("m") and int(limit[:-1]) * 1024 * 1024 > PHOTO_MAX_BYTES + 1024
    assert _seconds(_directive(config, "client_header_timeout")) <= defaults.header_timeout_s
    upstream = re.search(r"upstream grid_service \{(.*?)\}", config, re.DOTALL).group(1)  # type: ignore[union-attr]
    assert _seconds(_directive(upstream, "keepalive_timeout")) < defaults.header_timeout_s, (
        "nginx closes idle ones first"
    )
    assert "proxy_hide_header" not in config and "proxy_cache " not in config.replace("proxy_cache off", "")
