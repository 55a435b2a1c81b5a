"""Which database errors mean "away for now" (wait, or answer 503) and which are real errors."""

from __future__ import annotations

import pytest
import sqlalchemy as sa
from sqlalchemy.exc import DBAPIError, IntegrityError, InterfaceError, OperationalError

from shared.db import database_away, make_engine

pytestmark = pytest.mark.parametrize("database_url", ["postgres"], indirect=True)


async def test_the_server_ending_a_statement_is_away_and_a_broken_constraint_is_not(
    database_url: str,
) -> None:
    engine = make_engine(database_url)
    try:
        async with engine.connect() as connection:
            with pytest.raises(DBAPIError) as ended:
                # What a restart or failover does to every statement in flight (57P01).
                await connection.execute(sa.text("SELECT pg_terminate_backend(pg_backend_pid())"))
        assert not isinstance(ended.value, OperationalError | InterfaceError)
        assert database_away(ended.value)
        async with engine.begin() as connection:
            await connection.execute(sa.text("CREATE TABLE once (id INTEGER PRIMARY KEY)"))
            await connection.execute(sa.text("INSERT INTO once VALUES (1)"))
        async with engine.begin() as connection:
            with pytest.raises(IntegrityError) as broken:
                await connection.execute(sa.text("INSERT INTO once VALUES (1)"))
        assert not database_away(broken.value)
    finally:
        await engine.dispose()
    assert database_away(ConnectionRefusedError())
    assert not database_away(ValueError())
