"""Prometheus and Alertmanager from Debian's packages, run with the deployment's own files.

The configuration is ``deploy/prometheus/prometheus.yml`` with only what a test must change:
targets given as addresses instead of found by DNS, shorter intervals, the rules file by its
path, this Alertmanager's address. Alertmanager runs ``deploy/alertmanager/alertmanager.yml``
with the SMTP password file of the test.
"""

from __future__ import annotations

import json
import shutil
import subprocess
from functools import partial
from pathlib import Path
from typing import Any

import httpx
import yaml

from pipeline.processes import free_port
from shared.polling import poll
from shared.settings import REPO_ROOT

DEPLOY = REPO_ROOT / "deploy"


def dashboard_queries() -> dict[str, str]:
    """Each Grafana panel's title and query."""
    dashboard = json.loads((DEPLOY / "grafana" / "dashboards" / "sangkien.json").read_text())
    return {p["title"]: t["expr"] for p in dashboard["panels"] for t in p["targets"]}


class Monitoring:
    """Prometheus scraping ``targets`` (job name → addresses) and alerting to Alertmanager."""

    def __init__(self, folder: Path, targets: dict[str, list[str]], interval: str = "2s") -> None:
        self.folder = folder
        self.targets = targets
        self.interval = interval
        self.prometheus_port = free_port()
        self.alertmanager_port = free_port()
        self._processes: list[subprocess.Popen[bytes]] = []

    def _prometheus_config(self) -> dict[str, Any]:
        config: dict[str, Any] = yaml.safe_load(
            (DEPLOY / "prometheus" / "prometheus.yml").read_text()
        )
        config["global"].update(scrape_interval=self.interval, evaluation_interval=self.interval)
        config["rule_files"] = [str(DEPLOY / "prometheus" / "rules.yml")]
        config["alerting"]["alertmanagers"] = [
            {"static_configs": [{"targets": [f"127.0.0.1:{self.alertmanager_port}"]}]}
        ]
        for job in config["scrape_configs"]:
            del job["dns_sd_configs"]
            job["static_configs"] = [{"targets": self.targets[job["job_name"]]}]
        return config

    def _alertmanager_config(self) -> str:
        secret = self.folder / "smtp_password"
        secret.write_text("test-smtp-password\n")
        text = (DEPLOY / "alertmanager" / "alertmanager.yml").read_text()
        return text.replace("/run/secrets/alertmanager_smtp_password", str(secret))

    def _spawn(self, name: str, command: list[str]) -> None:
        log = open(self.folder / f"{name}.log", "ab")  # noqa: SIM115 - the child's
        self._processes.append(
            subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT, cwd=self.folder)
        )

    async def start(self) -> None:
        """Start both; return once both answer."""
        self.folder.mkdir(parents=True, exist_ok=True)
        (self.folder / "alertmanager.yml").write_text(self._alertmanager_config())
        (self.folder / "prometheus.yml").write_text(yaml.safe_dump(self._prometheus_config()))
        self._spawn(
            "alertmanager",
            [
                "prometheus-alertmanager",
                f"--config.file={self.folder / 'alertmanager.yml'}",
                f"--storage.path={self.folder / 'alertmanager-data'}",
                f"--web.listen-address=127.0.0.1:{self.alertmanager_port}",
                "--cluster.listen-address=",
            ],
        )
        self._spawn(
            "prometheus",
            [
                "prometheus",
                f"--config.file={self.folder / 'prometheus.yml'}",
                f"--storage.tsdb.path={self.folder / 'prometheus-data'}",
                f"--web.listen-address=127.0.0.1:{self.prometheus_port}",
            ],
        )
        for port in (self.alertmanager_port, self.prometheus_port):
            await poll(partial(self._status, port), lambda s: s == 200, 60, f":{port} ready")

    @staticmethod
    async def _status(port: int) -> int:
        try:
            async with httpx.AsyncClient(timeout=2) as client:
                return (await client.get(f"http://127.0.0.1:{port}/-/ready")).status_code
        except httpx.TransportError:
            return 0

    async def query(self, expr: str) -> list[dict[str, Any]]:
        """An instant query's result vector."""
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(
                f"http://127.0.0.1:{self.prometheus_port}/api/v1/query", params={"query": expr}
            )
        answer.raise_for_status()
        result: list[dict[str, Any]] = answer.json()["data"]["result"]
        return result

    async def firing(self, alertname: str) -> list[dict[str, str]]:
        """Labels of each firing alert of that name, as Alertmanager has received them."""
        async with httpx.AsyncClient(timeout=10) as client:
            answer = await client.get(
                f"http://127.0.0.1:{self.alertmanager_port}/api/v2/alerts",
                params={"filter": f'alertname="{alertname}"'},
            )
        answer.raise_for_status()
        return [alert["labels"] for alert in answer.json() if alert["status"]["state"] == "active"]

    def stop(self) -> None:
        """Stop both and remove their data."""
        for process in self._processes:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        shutil.rmtree(self.folder / "prometheus-data", ignore_errors=True)
