"""docs/prometheus/: the scrape configuration and the alert rules are what Prometheus takes, every
metric an alert reads is one the service exposes, and every metric the service exposes is in the
runbook. With promtool installed, it checks both files and runs the rules' unit tests
(alerts_test.yml); without it, the files are still read as YAML and checked for what Prometheus
needs."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import yaml
from prometheus_client.parser import text_string_to_metric_families

from tests.conftest import bearer
from tests.ops.tools import program

DOCS = Path(__file__).parents[2] / "docs"
PROMETHEUS = DOCS / "prometheus"
TOKEN_FILE = "/etc/prometheus/secrets/grid-metrics.token"
SEVERITIES = {"critical", "warning", "info"}
_SERIES_SUFFIX = re.compile(r"_(total|bucket|count|sum|created)$")


def _load(name: str) -> dict:
    loaded = yaml.safe_load((PROMETHEUS / name).read_text())
    assert isinstance(loaded, dict), name
    return loaded


def _rules() -> list[dict]:
    return [rule for group in _load("alerts.yml")["groups"] for rule in group["rules"]]


def test_the_scrape_configuration_reads_the_service_with_a_token_file():
    config = _load("prometheus.yml")
    assert config["rule_files"] == ["alerts.yml"]
    [job] = config["scrape_configs"]
    assert job["job_name"] == "grid-service" and job["metrics_path"] == "/metrics"
    assert job["authorization"] == {"type": "Bearer", "credentials_file": TOKEN_FILE}
    assert job["static_configs"][0]["targets"], "at least one host"
    assert job["scrape_timeout"] <= config["global"]["scrape_interval"]


def test_every_alert_has_what_prometheus_and_the_runbook_need():
    rules = _rules()
    assert len({rule["alert"] for rule in rules}) == len(rules), "alert names are unique"
    runbook = (DOCS / "operations.md").read_text()
    for rule in rules:
        assert set(rule) <= {"alert", "expr", "for", "labels", "annotations"}, rule["alert"]
        assert rule["expr"].strip() and rule["labels"]["severity"] in SEVERITIES, rule["alert"]
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"] == "docs/operations.md#alerts"
        assert f"`{rule['alert']}`" in runbook, f"docs/operations.md does not explain {rule['alert']}"


async def test_alerts_read_only_metrics_the_service_exposes_and_the_runbook_names_them_all(client, tokens):
    response = await client.get("/metrics", headers=bearer(tokens["admin"]))
    assert response.status == 200, await response.text()
    exposed = {family.name for family in text_string_to_metric_families(await response.text())}
    ours = {name for name in exposed if name.startswith("grid_") and not name.endswith("_created")}
    assert len(ours) >= 15, sorted(ours)
    for rule in _rules():
        for series in re.findall(r"\bgrid_[a-z_]+", rule["expr"]):
            assert _SERIES_SUFFIX.sub("", series) in ours, f"{rule['alert']} reads {series}, which is not exposed"
    runbook = (DOCS / "operations.md").read_text()
    missing = sorted(name for name in ours if f"`{name}" not in runbook)
    assert not missing, f"docs/operations.md does not describe {missing}"


def test_promtool_accepts_the_files_and_the_rules_pass_their_unit_tests(tmp_path):
    promtool = program("promtool", "the Prometheus files are checked as YAML only")
    config = (PROMETHEUS / "prometheus.yml").read_text()
    token = tmp_path / "grid-metrics.token"
    token.write_text("gs_example\n")
    (tmp_path / "prometheus.yml").write_text(config.replace(TOKEN_FILE, str(token)))
    (tmp_path / "alerts.yml").write_text((PROMETHEUS / "alerts.yml").read_text())
    for command in (["check", "config", "prometheus.yml"], ["test", "rules", str(PROMETHEUS / "alerts_test.yml")]):
        done = subprocess.run([promtool, *command], cwd=tmp_path, capture_output=True, text=True, timeout=60)
        assert done.returncode == 0, f"promtool {' '.join(command)}: {done.stdout}{done.stderr}"
