"""The hostile side: a real PostgreSQL for the hub's second store (tests/pg.py)."""

from __future__ import annotations

import pytest

from tests.pg import PgServer, pg_bin


@pytest.fixture(scope="session")
def pg_server():
    if pg_bin() is None:
        pytest.skip("PostgreSQL server binaries (initdb, pg_ctl) are not installed; "
                    ".ci/run installs Debian's postgresql package")
    server = PgServer()
    yield server
    server.stop()
