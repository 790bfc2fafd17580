"""PostgreSQL's client tools for the messaging database: pg_dump for backups, pg_restore to check and restore."""
from __future__ import annotations

import os
import re
import shutil
import subprocess
import tempfile
from pathlib import Path

from .database import TABLES, OperationFailed, messaging_engine

TABLE_ENTRY = re.compile(r"^\d+; \d+ \d+ TABLE (?!DATA )\S+ (\S+) ", re.MULTILINE)  # a table in pg_restore --list
COPY_HEADER = re.compile(r"^COPY \S+ \((.*)\) FROM stdin;$")  # where pg_restore starts a table's rows
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


def dump_rows(path: Path, table: str, columns: tuple[str, ...]):
    """Those columns of every row of one table in a dump, as text (None for NULL), streamed as
    pg_restore writes the table's data: COPY's text format, one row a line and a tab between values
    (a message's own tabs and line breaks are escaped). Nothing when the dump has no such table.
    For columns of numbers and ids, which need no unescaping."""
    with tempfile.TemporaryFile() as errors:
        process = subprocess.Popen([_pg_command("pg_restore"), "--data-only", f"--table={table}", "--file=-",
                                    str(path)], stdout=subprocess.PIPE, stderr=errors)
        try:
            yield from _copied_rows(process.stdout, path, table, columns)
        finally:  # also when the reader stops early: pg_restore then ends on a closed pipe
            process.stdout.close()
            process.wait()
        if process.returncode != 0:
            errors.seek(0)
            lines = [line.strip() for line in errors.read().decode(errors="replace").splitlines() if line.strip()]
            raise OperationFailed(f"pg_restore failed reading the {table} table of {path}: "
                                  f"{lines[0] if lines else f'exit status {process.returncode}'}")


def _copied_rows(lines, path: Path, table: str, columns: tuple[str, ...]):
    positions = None
    for line in lines:
        line = line.rstrip(b"\n")
        if positions is None:
            copy = COPY_HEADER.match(line.decode(errors="replace"))
            if copy:
                named = [name.strip().strip('"') for name in copy.group(1).split(",")]
                if not set(columns) <= set(named):
                    raise OperationFailed(f"{path} is a pg_dump file but not a messaging backup (its {table} table "
                                          f"has no {', '.join(sorted(set(columns) - set(named)))}).")
                positions = [named.index(column) for column in columns]
        elif line == b"\\.":
            positions = None
        else:
            values = line.split(b"\t")
            yield tuple(None if values[i] == b"\\N" else values[i].decode() for i in positions)


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
