"""Outside development mode a service refuses to start with a placeholder secret."""

from __future__ import annotations

import os
import subprocess
import sys

import pytest
from pydantic import ValidationError

from services.notify.settings import NotifySettings
from services.submission.settings import SubmissionSettings
from shared.settings import REPO_ROOT

SHIPPED_BROKER = "amqp://submission:change-me-submission@rabbitmq:5672/sangkien"
SHIPPED_DATABASE = "postgresql+asyncpg://submission:change-me-postgres@postgres/submission"


def test_each_placeholder_is_named(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANGKIEN_DEVELOPMENT", raising=False)
    with pytest.raises(ValidationError) as refused:
        SubmissionSettings(broker_url=SHIPPED_BROKER, database_url=SHIPPED_DATABASE)
    message = str(refused.value)
    for name in (
        "SANGKIEN_AUTHOR_KEY_SECRET",
        "SANGKIEN_BROKER_URL password",
        "SANGKIEN_DATABASE_URL password",
    ):
        assert name in message
    assert "change-me-postgres" not in message  # the refusal does not repeat the secret


def test_real_secrets_and_development_mode_are_accepted(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv("SANGKIEN_DEVELOPMENT", raising=False)
    real = SubmissionSettings(
        broker_url="amqp://submission:Xq3-v9w@rabbitmq:5672/sangkien",
        database_url="postgresql+asyncpg://submission:Ut7-2kq@postgres/submission",
        author_key_secret="9f2c4e7a1b",
    )
    assert real.development is False
    assert SubmissionSettings(
        broker_url=SHIPPED_BROKER, database_url=SHIPPED_DATABASE, development=True
    ).development
    assert NotifySettings().broker_url.startswith("amqp://guest:guest@")  # no placeholder there


def test_a_service_started_with_a_placeholder_exits_saying_why() -> None:
    env = {k: v for k, v in os.environ.items() if not k.startswith("SANGKIEN_")}
    env["SANGKIEN_DATABASE_URL"] = SHIPPED_DATABASE
    done = subprocess.run(
        [sys.executable, "-m", "services.submission", "serve"],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode != 0
    assert "placeholder secrets in SANGKIEN_AUTHOR_KEY_SECRET" in done.stderr
    assert "SANGKIEN_DEVELOPMENT=true" in done.stderr
