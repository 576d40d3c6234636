"""A primary PostgreSQL and a synchronous streaming standby of it, for the failover test.

The standby is a `LocalPostgres` whose cluster is cloned from the primary with ``pg_basebackup -R``
instead of made by ``initdb``; it runs as the same unprivileged account, from the same binaries.
"""

from __future__ import annotations

import os
import pwd
import signal
from dataclasses import dataclass
from pathlib import Path

import psycopg

from anxin.services import LocalPostgres, _own, _run, _service_account
from tests.reliability.helpers import scalar, wait_for

STANDBY_NAME = "standby1"

PRIMARY_OPTIONS = (
    "wal_level=replica",
    "max_wal_senders=4",
    "synchronous_commit=on",  # after `durable=False`'s synchronous_commit=off: the last -c wins
)


@dataclass
class LocalStandby(LocalPostgres):
    """A hot standby of ``primary`` that streams from it synchronously, as ``standby1``."""

    primary: LocalPostgres | None = None
    _data: Path | None = None
    _receiver: int | None = None

    def _conninfo(self) -> str:
        assert self.primary is not None
        return (
            f"host=127.0.0.1 port={self.primary.port} user={self.primary.user} "
            f"password={self.primary.password} application_name={STANDBY_NAME}"
        )

    def _initdb(self, data: Path, account: pwd.struct_passwd | None) -> None:
        """Clone the primary (its roles and password come along) and configure streaming from it."""
        assert self.primary is not None and self._bindir is not None
        pwfile = data.parent / "password"
        pwfile.write_text(self.primary.password + "\n")
        pwfile.chmod(0o600)
        _own(data.parent, account)
        _run(
            [
                str(self._bindir / "pg_basebackup"),
                f"--pgdata={data}",
                f"--dbname={self._conninfo()}",
                "--write-recovery-conf",
                "--wal-method=stream",
                "--checkpoint=fast",
            ],
            account,
        )
        # --write-recovery-conf wrote standby.signal and a primary_conninfo; the primary names its
        # synchronous standby by application_name, so state it (the last setting in the file wins).
        with (data / "postgresql.auto.conf").open("a") as conf:
            conf.write(f"primary_conninfo = '{self._conninfo()}'\n")
        self._data = data

    def promote(self) -> None:
        """Promote the standby with ``pg_ctl promote`` and wait until it accepts writes."""
        assert self._bindir is not None and self._data is not None
        account = _service_account("postgres")
        _run([str(self._bindir / "pg_ctl"), "promote", "-w", "-t", "30", "-D", str(self._data)], account)

    def stall_receiver(self) -> None:
        """Freeze the standby's WAL receiver: it stops taking, and confirming, the primary's WAL."""
        with psycopg.connect(self.url("postgres"), connect_timeout=5) as conn:
            row = conn.execute("SELECT pid FROM pg_stat_wal_receiver").fetchone()
        assert row is not None, "the standby has no WAL receiver"
        self._receiver = int(row[0])
        os.kill(self._receiver, signal.SIGSTOP)

    def drop_stalled_wal(self) -> None:
        """Kill the frozen WAL receiver, so WAL still in its socket never reaches the standby's disk."""
        # The standby then restarts its recovery from what it has on disk, as after a crash.
        assert self._receiver is not None
        os.kill(self._receiver, signal.SIGKILL)
        self._receiver = None
        self._wait_ready()

    def make_synchronous(self, timeout: float = 30.0) -> None:
        """Make the primary wait for this standby on every commit; return once it reports it as synchronous."""
        # Set on the running primary, not at its start: until the standby exists every commit would hang
        # (the primary's first one creates the database), and a promoted standby must not inherit it, or
        # it would wait for a standby of its own.
        assert self.primary is not None
        url = self.primary.url("postgres")
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute(f"ALTER SYSTEM SET synchronous_standby_names = '{STANDBY_NAME}'")
            conn.execute("SELECT pg_reload_conf()")
        query = "SELECT count(*) FROM pg_stat_replication WHERE application_name = %s AND sync_state = 'sync'"
        wait_for(lambda: scalar(url, query, STANDBY_NAME) == 1, timeout, "the standby streaming synchronously")


def failover_url(primary: LocalPostgres, standby: LocalPostgres, dbname: str = "anxin") -> str:
    """Return a multi-host libpq URL that reaches whichever of the two servers accepts writes."""
    return (
        f"postgresql://{primary.user}:{primary.password}@127.0.0.1:{primary.port},127.0.0.1:{standby.port}"
        f"/{dbname}?target_session_attrs=read-write"
    )
