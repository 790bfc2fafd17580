"""PostgreSQL's client tools for the messaging database: pg_dump for backups, pg_restore to check and restore."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
from pathlib import Path

from .database import TABLES, OperationFailed, messaging_engine

TABLE_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )\S+ (\S+) ", re.MULTILINE)  # a table in pg_restore --list
HEADER_ENTRY = re.compile(r"^;\s+(Archive created at|dbname):?\s+(.+?)\s*$", re.MULTILINE)  # its header
INSTALL_PG_CLIENT = "install the PostgreSQL client tools (e.g. `apt-get install postgresql-client`) and try again"


def dump(destination: Path) -> None:
    """pg_dump in custom format, read back with pg_restore --list as its integrity check."""
    pg_dump = _pg_command("pg_dump")
    dsn, env = _pg_connection()
    _run_pg([pg_dump, "--format=custom", "--no-owner", f"--file={destination}", f"--dbname={dsn}"], env)
    check_dump(destination)


def check_dump(path: Path) -> str:
    """What the dump is ("a pg_dump of database wb_messaging, taken 2026-12-06 03:59:02 UTC"), or
    OperationFailed unless pg_restore can read its table of contents and it holds the messaging tables."""
    listing = _run_pg([_pg_command("pg_restore"), "--list", str(path)], dict(os.environ))
    tables = set(TABLE_ENTRY.findall(listing))
    missing = [name for name in TABLES if name not in tables]
    if missing:
        raise OperationFailed(f"{path} is a pg_dump file but not a messaging backup (no {missing[0]} table).")
    header = dict(HEADER_ENTRY.findall(listing))
    taken = f", taken {header['Archive created at']}" if header.get("Archive created at") else ""
    return f"a pg_dump of database {header.get('dbname', '(unnamed)')}{taken}"


def restore_dump(path: Path) -> None:
    """All or nothing: pg_restore in one transaction, replacing the messaging tables."""
    pg_restore = _pg_command("pg_restore")
    dsn, env = _pg_connection()
    _run_pg([pg_restore, "--clean", "--if-exists", "--no-owner", "--single-transaction", "--exit-on-error",
             f"--dbname={dsn}", str(path)], env)


def _pg_command(name: str) -> str:
    found = shutil.which(name)
    if found is None:
        raise OperationFailed(f"{name} isn't installed: {INSTALL_PG_CLIENT}.")
    return found


def _pg_connection() -> tuple[str, dict]:
    """A libpq URL for the messaging database, and the environment carrying its password."""
    url = messaging_engine().url
    env = dict(os.environ)
    if url.password:
        env["PGPASSWORD"] = str(url.password)
    return url.set(drivername="postgresql", password=None).render_as_string(hide_password=False), env


def _run_pg(arguments: list[str], env: dict) -> str:
    """Run a PostgreSQL client tool; its standard output, or OperationFailed with its first error line."""
    result = subprocess.run(arguments, env=env, capture_output=True, text=True)
    if result.returncode != 0:
        lines = [line.strip() for line in result.stderr.splitlines() if line.strip()]
        tool = Path(arguments[0]).name
        if result.returncode < 0 and not lines:  # killed by a signal: a damaged file made it crash
            raise OperationFailed(f"{tool} crashed (signal {-result.returncode}) reading it: the file is damaged "
                                  "or not a complete pg_dump file.")
        raise OperationFailed(f"{tool} failed: {lines[0] if lines else f'exit status {result.returncode}'}")
    return result.stdout
