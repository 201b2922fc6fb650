"""A store table rebuilt in a new shape: SQLite's documented way to change a table beyond
ADD COLUMN ("Making Other Kinds Of Table Schema Changes" in its ALTER TABLE page). DROP
COLUMN needs SQLite 3.35, and the Python of RHEL 9 links 3.34.

The caller turns foreign keys off before its transaction (the pragma does nothing inside
one) and back on after it, and runs this inside that one transaction.
"""

from __future__ import annotations

import sqlite3


class RebuildError(sqlite3.DatabaseError):
    """The rebuilt table breaks a foreign key that held before: the transaction must roll back."""


def rebuild_table(conn: sqlite3.Connection, table: str, create: str) -> None:
    """Rebuild `table` as `create` makes it: its rows (and their rowids, which some queries
    order by) copied column by column into the new table's columns, its indexes and triggers
    made again.

    create: CREATE TABLE {table}_new (...), every column of which `table` has.
    """
    new = f"{table}_new"
    # The indexes and triggers dropped with the table (an autoindex has no sql: the new
    # table's constraints make it again).
    attached = [row[0] for row in conn.execute(
        "SELECT sql FROM sqlite_master WHERE tbl_name = ? AND type IN ('index', 'trigger') "
        "AND sql IS NOT NULL ORDER BY type, name", (table,))]
    broken_before = _broken_keys(conn)
    conn.execute(create)
    columns = ", ".join(["rowid"] + [f'"{row[1]}"' for row in conn.execute(f'PRAGMA table_info("{new}")')])
    conn.execute(f'INSERT INTO "{new}" ({columns}) SELECT {columns} FROM "{table}"')
    conn.execute(f'DROP TABLE "{table}"')
    # Renaming the new table to the old name (never the old one away) leaves the other
    # tables' REFERENCES to it as they were.
    conn.execute(f'ALTER TABLE "{new}" RENAME TO "{table}"')
    for sql in attached:
        conn.execute(sql)
    broken = _broken_keys(conn) - broken_before
    if broken:
        raise RebuildError(f"rebuilding {table} broke {len(broken)} foreign key(s), first: {sorted(broken)[0]}")


def _broken_keys(conn: sqlite3.Connection) -> set[tuple]:
    """Rows whose foreign key points at no row (PRAGMA foreign_key_check). Rows that were
    already so before the rebuild (a store written with foreign keys off) are not the
    rebuild's doing, and are left as they are."""
    return {tuple(row) for row in conn.execute("PRAGMA foreign_key_check")}
