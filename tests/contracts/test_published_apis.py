"""The published OpenAPI documents state what the services enforce and every answer they give.

A bounded schemathesis run, with all its checks, against each HTTP API as running processes
serve it (the documents it reads are the ones in ``docs/api/``, which another test keeps equal to
what the services publish): no undocumented status or content type, no answer that breaks its
schema, no schema-valid request refused, no schema-breaking request accepted, no server error.
The few facts a schema cannot state (which unions exist, which dates lie in a phase, which hosts
resolve) are given to the run as test data (``tests/support/schemathesis_hooks.py``).
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest

from pipeline.processes import Pipeline, create_api_key
from shared.settings import REPO_ROOT

# Examples per operation and phase: enough to find what a document leaves out, bounded in time.
# The seed keeps CI's run repeatable; docs/architecture.md shows a longer run with any seed.
EXAMPLES = 25
SEED = 20261130
SETTINGS = {
    "SANGKIEN_NOTIFY_ALLOWED_HOSTS": '["127.0.0.1"]',
    # Writes beyond a key's rate are documented (429); here they should reach the routes.
    "SANGKIEN_WRITE_RATE_PER_KEY": "10000",
    "SANGKIEN_WRITE_BURST_PER_KEY": "10000",
}


def schemathesis(base_url: str, document: str, key: str | None) -> subprocess.CompletedProcess[str]:
    """One bounded run with every check against ``base_url``, reading ``docs/api/<document>``."""
    return subprocess.run(
        [
            str(Path(sys.executable).parent / "schemathesis"),
            "run",
            str(REPO_ROOT / "docs" / "api" / document),
            "--url",
            base_url,
            "--checks",
            "all",
            "--max-examples",
            str(EXAMPLES),
            "--seed",
            str(SEED),
            "--workers",
            "1",
            "--generation-database",
            "none",
            "--no-color",
            *(["--header", f"X-API-Key: {key}"] if key else []),
        ],
        cwd=REPO_ROOT,
        env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.support.schemathesis_hooks"},
        capture_output=True,
        text=True,
        timeout=900,
    )


@pytest.mark.timeout(1200)
async def test_every_http_api_answers_as_its_published_document_says(
    broker_url: str, tmp_path: Path
) -> None:
    pipeline = Pipeline(broker_url, tmp_path, SETTINGS)
    pipeline.start()
    try:
        await pipeline.wait_ready()
        keys = {
            "submission": create_api_key(
                pipeline.database_env("submission"), name="fuzz", scope="vn"
            ),
            "aggregation": None,
            "notify": create_api_key(
                pipeline.database_env("notify"), name="fuzz", scope="vn", service="notify"
            ),
        }
        failed = {}
        for service, key in keys.items():
            done = await asyncio.to_thread(
                schemathesis, pipeline[service].base_url, f"{service}.openapi.json", key
            )
            print(f"--- {service}: exit {done.returncode}\n{done.stdout[-1500:]}")
            if done.returncode != 0:
                failed[service] = done.stdout[-8000:] + done.stderr[-2000:]
        assert not failed, "\n\n".join(f"=== {s}\n{out}" for s, out in failed.items())
    finally:
        pipeline.stop()
