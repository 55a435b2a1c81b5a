"""The README's promises: the run command works; published docs match the code."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from pipeline.processes import free_port
from services.dedup.settings import DedupSettings
from services.submission.app import create_app
from services.submission.settings import SubmissionSettings
from shared.settings import REPO_ROOT


def test_published_openapi_matches_the_app() -> None:
    published = json.loads((REPO_ROOT / "docs/api/submission.openapi.json").read_text())
    assert published == create_app().openapi(), (
        "regenerate: python -m services.submission openapi > docs/api/submission.openapi.json"
    )


def test_every_setting_is_documented() -> None:
    documented = (REPO_ROOT / "docs/settings.md").read_text(encoding="utf-8")
    fields = {*SubmissionSettings.model_fields, *DedupSettings.model_fields}
    missing = [
        f"SANGKIEN_{name.upper()}"
        for name in fields
        if f"SANGKIEN_{name.upper()}" not in documented
    ]
    assert missing == []


def test_run_command_files_initiatives_and_shows_their_events(
    broker_url: str, tmp_path: Path
) -> None:
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "pipeline",
            "run",
            "--broker-url",
            broker_url,
            "--run-dir",
            str(tmp_path),
            "--first-port",
            str(free_port()),
            "--exit-after-demo",
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "COLUMNS": "250"},
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.count("submission.received.v1 ") == 5
    assert done.stdout.count("submission.screened.v1 ") == 5
    assert "submission.rejected.v1" in done.stdout
    assert "union_code: union_not_accepting" in done.stdout
    assert "GET the copy → verdict exact_duplicate" in done.stdout
