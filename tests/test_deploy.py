"""The deployment files are valid, agree with the code, and every alert has a runbook.

Checked with the tools of each (Debian's packages, installed by scripts/test): promtool,
amtool, haproxy and docker-compose (which validates a compose file without an engine).
"""

from __future__ import annotations

import os
import re
import subprocess
from pathlib import Path

import pytest
import yaml

from services.aggregation.settings import AggregationSettings
from services.dedup.settings import DedupSettings
from services.notify.settings import NotifySettings
from services.submission.settings import SubmissionSettings
from shared.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"
COMPOSE = REPO_ROOT / "docker-compose.yml"
OPERATIONS = REPO_ROOT / "docs" / "operations.md"


def run(
    *command: str | Path, env: dict[str, str] | None = None
) -> subprocess.CompletedProcess[str]:
    """Run a tool; its result (not checked)."""
    return subprocess.run(
        [str(part) for part in command],
        capture_output=True,
        text=True,
        timeout=120,
        env={**os.environ, **(env or {})},
        check=False,
        cwd=REPO_ROOT,
    )


@pytest.mark.parametrize(
    "command",
    [
        ("promtool", "check", "config", DEPLOY / "prometheus" / "prometheus.yml"),
        ("promtool", "check", "rules", DEPLOY / "prometheus" / "rules.yml"),
        ("promtool", "test", "rules", DEPLOY / "prometheus" / "rules.test.yml"),
        ("amtool", "check-config", DEPLOY / "alertmanager" / "alertmanager.yml"),
        ("haproxy", "-c", "-f", DEPLOY / "haproxy" / "haproxy.cfg"),
    ],
    ids=lambda command: " ".join(str(part).rsplit("/", 1)[-1] for part in command[:3]),
)
def test_the_tool_of_each_file_accepts_it(command: tuple[str | Path, ...]) -> None:
    done = run(*command)
    assert done.returncode == 0, done.stdout + done.stderr


def alerts() -> list[dict[str, object]]:
    rules = yaml.safe_load((DEPLOY / "prometheus" / "rules.yml").read_text())
    return [rule for group in rules["groups"] for rule in group["rules"] if "alert" in rule]


def headings(markdown: str) -> set[str]:
    """GitHub's anchors of a Markdown file's headings."""
    return {
        re.sub(r"[^\w\- ]", "", line.lstrip("#").strip().lower()).replace(" ", "-")
        for line in markdown.splitlines()
        if line.startswith("#")
    }


def test_every_alert_has_a_severity_a_runbook_and_a_unit_test() -> None:
    anchors = headings(OPERATIONS.read_text(encoding="utf-8"))
    tested = (DEPLOY / "prometheus" / "rules.test.yml").read_text()
    found = alerts()
    assert len(found) >= 10
    for rule in found:
        labels, annotations = rule["labels"], rule["annotations"]
        assert isinstance(labels, dict) and isinstance(annotations, dict)
        assert labels["severity"] in {"critical", "warning"}, rule["alert"]
        page, _, anchor = str(annotations["runbook"]).partition("#")
        assert page == "docs/operations.md" and anchor in anchors, rule["alert"]
        assert f"alertname: {rule['alert']}" in tested, f"{rule['alert']} has no promtool test"


def required_variables() -> set[str]:
    return set(re.findall(r"\$\{(\w+):\?", COMPOSE.read_text()))


def test_compose_validates_with_its_secrets_and_refuses_without() -> None:
    variables = required_variables()
    assert {"AUTHOR_KEY_SECRET", "RABBITMQ_ERLANG_COOKIE"} <= variables
    filled = {name: "x" for name in variables}
    done = run("docker-compose", "-f", COMPOSE, "config", "-q", env=filled)
    assert done.returncode == 0, done.stderr
    missing = dict(filled)
    del missing["AUTHOR_KEY_SECRET"]
    cleaned = {k: v for k, v in os.environ.items() if k not in variables}
    refused = subprocess.run(
        ["docker-compose", "-f", str(COMPOSE), "config", "-q"],
        capture_output=True,
        text=True,
        timeout=120,
        env={**cleaned, **missing},
        check=False,
        cwd=REPO_ROOT,
    )
    assert refused.returncode != 0 and "AUTHOR_KEY_SECRET" in refused.stderr


def test_every_setting_compose_sets_exists_and_no_secret_is_written_in_it() -> None:
    text = COMPOSE.read_text()
    known = {
        f"SANGKIEN_{name.upper()}"
        for model in (SubmissionSettings, DedupSettings, AggregationSettings, NotifySettings)
        for name in model.model_fields
    }
    used = set(re.findall(r"\b(SANGKIEN_\w+):", text))
    assert used and used <= known, used - known
    assert "change-me" not in text
    for line in text.splitlines():
        if re.search(r"(PASSWORD|SECRET|COOKIE)\w*:\s", line):
            assert "${" in line or "_FILE:" in line or "/run/secrets" in line, line


def test_the_services_meant_to_scale_publish_no_host_port() -> None:
    services = yaml.safe_load(COMPOSE.read_text())["services"]
    for name in ("submission", "dedup", "aggregation", "notify"):
        assert "ports" not in services[name], name
        assert services[name]["restart"] == "unless-stopped"
        assert "start_period" in services[name]["healthcheck"], name
    for name, service in services.items():
        assert "restart" in service, name
