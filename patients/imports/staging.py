"""A temporary table holding an import's answer rows, read back grouped by response.

Answer rows arrive in any order (a legacy file sorted by item, by date, by nothing), yet
a response is scored with all its items together. Holding a million rows in Python
would grow the import's memory with the file; instead the rows that pass their own
checks go into a temporary table of the import's transaction (``COPY`` on PostgreSQL,
batched inserts elsewhere) and come back sorted by patient, time point and instrument
through a server-side cursor, a response at a time. Memory stays flat.
"""

from __future__ import annotations

import io
from collections.abc import Iterator

from django.db import connection

TABLE = "import_answer_rows"
COLUMNS = ("line", "origin", "patient", "timepoint", "instrument", "item", "value",
           "completed")
FLUSH_ROWS = 20_000
FETCH_ROWS = 5_000
NULL = "\\N"

Row = tuple[int, int, str, str, str, str, "int | None", str]
"""line, origin (index into the import's origins), patient, time point, instrument, item,
value (None: blank), completed date (ISO text)."""


_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


class AnswerStage:
    """The temporary table of one import: ``add`` rows, then ``groups`` read them back.

    Use inside the import's transaction; ``close`` drops the table (a test's
    transaction, or a second import in one, may outlive it otherwise).
    """

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"
        self.buffer: list[Row] = []
        self.count = 0
        collate = ' COLLATE "C"' if self.postgres else ""
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {TABLE} (line integer NOT NULL, origin integer NOT "
                f"NULL, patient text{collate} NOT NULL, timepoint text{collate} NOT NULL, "
                f"instrument text{collate} NOT NULL, item text NOT NULL, value integer, "
                "completed text NOT NULL)"
            )

    def add(self, row: Row) -> None:
        self.buffer.append(row)
        if len(self.buffer) >= FLUSH_ROWS:
            self.flush()

    def flush(self) -> None:
        if not self.buffer:
            return
        with connection.cursor() as cursor:
            if self.postgres:
                # Only checked rows come here: the time point, instrument and item are
                # codes of the study, the value an int and the date ISO text; the patient
                # code is escaped all the same, being the one the database supplies.
                text = "".join([
                    f"{line}\t{origin}\t{patient.translate(_ESCAPES)}\t{tp}\t{instrument}\t"
                    f"{item}\t{NULL if value is None else value}\t{completed}\n"
                    for line, origin, patient, tp, instrument, item, value, completed
                    in self.buffer])
                cursor.cursor.copy_expert(
                    f"COPY {TABLE} ({', '.join(COLUMNS)}) FROM STDIN", io.StringIO(text))
            else:
                cursor.executemany(
                    f"INSERT INTO {TABLE} ({', '.join(COLUMNS)}) VALUES "
                    f"({', '.join(['%s'] * len(COLUMNS))})", self.buffer)
        self.count += len(self.buffer)
        self.buffer = []

    def groups(self) -> Iterator[list[Row]]:
        """Yield the rows of each (patient, time point, instrument), in file-line order."""
        self.flush()
        with connection.chunked_cursor() as cursor:
            cursor.execute(
                f"SELECT {', '.join(COLUMNS)} FROM {TABLE} "
                "ORDER BY patient, timepoint, instrument, line")
            group: list[Row] = []
            key = None
            while True:
                rows = cursor.fetchmany(FETCH_ROWS)
                if not rows:
                    break
                for row in rows:
                    row_key = (row[2], row[3], row[4])
                    if row_key != key:
                        if group:
                            yield group
                        group, key = [], row_key
                    group.append(row)
            if group:
                yield group

    def close(self) -> None:
        with connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {TABLE}")
