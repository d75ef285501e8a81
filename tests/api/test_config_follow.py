import asyncio
import shutil

from aiohttp.test_utils import TestClient, TestServer

from grid_service.app import create_app
from grid_service.configuration.files import read_config_dir
from grid_service.db import config_store
from tests.conftest import FIXTURE_CONFIG, bearer, settings_for


async def test_a_running_worker_picks_up_newly_loaded_configuration(db_url, db, tokens, tmp_path):
    client = TestClient(TestServer(create_app(settings_for(db_url, config_poll_s=0.05))))
    await client.start_server()
    try:
        config = tmp_path / "config"
        shutil.copytree(FIXTURE_CONFIG, config)
        text = (config / "departments.toml").read_text()
        (config / "departments.toml").write_text(text.replace("环境卫生中心", "环境卫生服务中心"))
        await config_store.store_bundle(db, read_config_dir(config))
        names: set[str] = set()
        for _ in range(100):  # bounded: 100 x 50 ms
            body = await (await client.get("/api/v1/departments", headers=bearer(tokens["viewer"]))).json()
            names = {d["name"] for d in body["departments"]}
            if "环境卫生服务中心" in names:
                break
            await asyncio.sleep(0.05)
        assert "环境卫生服务中心" in names
    finally:
        await client.close()
