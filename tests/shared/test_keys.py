"""API keys of both services that issue them, through the operators' command: created with an
expiry, listed without secrets, revoked; expired and revoked keys are refused."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from services.notify.auth import keyring as notify_keyring
from services.submission.auth import keyring as submission_keyring
from shared.contracts.envelope import utc_now
from shared.db import make_engine, make_sessionmaker
from shared.keys import Keyring
from shared.settings import REPO_ROOT
from tests.support.events import reference

KEYRINGS: dict[str, Callable[[], Keyring[Any]]] = {
    "submission": submission_keyring,
    "notify": notify_keyring,
}


def keys_command(service: str, database_url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """``python -m services.<service> keys …`` as an operator runs it."""
    return subprocess.run(
        [sys.executable, "-m", f"services.{service}", "keys", *args],
        cwd=REPO_ROOT,
        env={**os.environ, "SANGKIEN_DATABASE_URL": database_url, "COLUMNS": "200"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("service", sorted(KEYRINGS))
async def test_the_keys_command_creates_lists_and_revokes_keys(
    service: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'keys.sqlite3'}"
    created = keys_command(
        service, url, "create", "--name", "LĐLĐ Lai Châu", "--scope", "ldld-lai-chau",
        "--expires-in-days", "30",
    )  # fmt: skip
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    _, key_id, secret = key.split("_", 2)
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    keys = KEYRINGS[service]()
    try:
        client = await keys.authenticate(sessions, key)
        assert client is not None and client.scopes == ("ldld-lai-chau",)

        listed = keys_command(service, url, "list")
        assert listed.returncode == 0, listed.stderr
        assert key_id in listed.stdout and "ldld-lai-chau" in listed.stdout
        expires = (utc_now() + timedelta(days=30)).strftime("%Y-%m-%d")
        assert expires in listed.stdout
        assert secret not in listed.stdout  # never the secret

        revoked = keys_command(service, url, "revoke", key_id)
        assert revoked.returncode == 0, revoked.stderr
        assert await KEYRINGS[service]().authenticate(sessions, key) is None  # uncached: refused
        again = keys_command(service, url, "revoke", key_id)
        assert again.returncode != 0 and "no live key" in again.stderr
    finally:
        await engine.dispose()


@pytest.mark.parametrize("service", sorted(KEYRINGS))
async def test_an_expired_key_is_refused_and_a_past_expiry_is_not_accepted(
    service: str, tmp_path: Path
) -> None:
    url = f"sqlite+aiosqlite:///{tmp_path / 'keys.sqlite3'}"
    created = keys_command(service, url, "create", "--name", "t", "--scope", "vn")
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip().splitlines()[-1]
    engine = make_engine(url)
    sessions = make_sessionmaker(engine)
    keys = KEYRINGS[service]()
    try:
        assert await KEYRINGS[service]().authenticate(sessions, key) is not None
        async with sessions() as session, session.begin():
            await session.execute(
                sa.update(keys.table).values(expires_at=utc_now() - timedelta(seconds=1))
            )
            with pytest.raises(ValueError, match="not in the future"):
                await keys.create(
                    session,
                    name="t",
                    scopes=["vn"],
                    tree=reference().tree,
                    expires_at=utc_now() - timedelta(days=1),
                )
        assert await keys.authenticate(sessions, key) is None
    finally:
        await engine.dispose()
