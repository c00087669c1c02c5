"""Rows written in bulk: ``COPY`` on PostgreSQL, ``bulk_create`` on other databases.

An import writes hundreds of thousands of rows (responses, scores, audit records,
responder statuses). Django's ``bulk_create`` prepares every value of every row through
its field classes, which costs more than the database's own work; ``COPY`` takes plain
text. Rows here are tuples of plain Python values already in their stored form
(checked by the import): ``None``, ``bool``, ``int``, ``float``, ``str``, ``Decimal``, dates and
aware datetimes, and dicts or lists for JSON columns. On other databases the same
tuples become model instances for ``bulk_create``, so both paths store the same.
"""

from __future__ import annotations

import datetime as dt
import io
import json
from collections.abc import Callable, Iterable, Sequence
from decimal import Decimal

from django.db import connection, models
from django.utils import timezone

_ESCAPES = str.maketrans({"\\": "\\\\", "\t": "\\t", "\n": "\\n", "\r": "\\r"})


def _json(value) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":")).translate(_ESCAPES)


def _any(value) -> str:
    if value is True:
        return "t"
    if value is False:
        return "f"
    if isinstance(value, str):
        return value.translate(_ESCAPES)
    if isinstance(value, float):
        return repr(value)  # the shortest text that reads back as the same float
    if isinstance(value, (int, Decimal)):
        return str(value)
    if isinstance(value, (dt.date, dt.datetime)):
        return value.isoformat()
    raise TypeError(f"cannot copy {value!r}")


_NUMBERS = (models.IntegerField, models.BigIntegerField, models.AutoField,
            models.BigAutoField, models.PositiveIntegerField,
            models.PositiveSmallIntegerField, models.SmallIntegerField)


def _text(value: str) -> str:
    return value.translate(_ESCAPES)


def _flag(value: bool) -> str:
    return "t" if value else "f"


def _moment() -> Callable[[dt.datetime], str]:
    """An aware datetime as text; the import's few distinct times are converted once."""
    seen: dict[dt.datetime, str] = {}

    def convert(value: dt.datetime) -> str:
        text = seen.get(value)
        if text is None:
            text = seen[value] = value.isoformat()
            if len(seen) > 10_000:
                seen.clear()
        return text

    return convert


def _fields(model: type[models.Model]) -> dict[str, models.Field]:
    return {f.attname: f for f in model._meta.concrete_fields}


def _converters(model: type[models.Model], columns: Sequence[str]) -> list:
    """Return a text converter per column, chosen once from the model's field types."""
    by_attname = _fields(model)
    converters = []
    for name in columns:
        column = by_attname[name]
        if isinstance(column, models.JSONField):
            converters.append(_json)
        elif isinstance(column, (*_NUMBERS, models.ForeignKey)):
            converters.append(str)  # ints: no escaping needed
        elif isinstance(column, (models.CharField, models.TextField)):
            converters.append(_text)
        elif isinstance(column, models.BooleanField):
            converters.append(_flag)
        elif isinstance(column, models.DateTimeField):
            converters.append(_moment())
        else:
            converters.append(_any)
    return converters


class Bulk:
    """Insert plain rows into a model's table, in the fastest way the database has."""

    def __init__(self) -> None:
        self.postgres = connection.vendor == "postgresql"

    def insert(self, model: type[models.Model], columns: Sequence[str],
               rows: Iterable[tuple], *, with_ids: bool = False) -> list[int]:
        """Insert ``rows`` (values of ``columns``, attnames); return their ids if asked.

        On PostgreSQL the ids are drawn from the table's sequence first, so ``COPY`` can
        write them and the caller knows them without reading the rows back.
        """
        rows = list(rows)
        if not rows:
            return []
        if not self.postgres:
            objects = [model(**dict(zip(columns, row, strict=True))) for row in rows]
            model.objects.bulk_create(objects, batch_size=2000)
            return [obj.pk for obj in objects] if with_ids else []
        # As bulk_create does: a field kept up to date by Django is now, whatever is given.
        now = timezone.now()
        automatic = [n for n, name in enumerate(columns)
                     if getattr(_fields(model)[name], "auto_now", False)
                     or getattr(_fields(model)[name], "auto_now_add", False)]
        if automatic:
            rows = [tuple(now if n in automatic else value for n, value in enumerate(row))
                    for row in rows]
        table = model._meta.db_table
        ids: list[int] = []
        if with_ids:
            with connection.cursor() as cursor:
                cursor.execute(
                    "SELECT nextval(pg_get_serial_sequence(%s, 'id')) "
                    "FROM generate_series(1, %s)", [table, len(rows)])
                ids = [row[0] for row in cursor.fetchall()]
            columns = ("id", *columns)
            rows = [(pk, *row) for pk, row in zip(ids, rows, strict=True)]
        self.copy(table, columns, rows, converters=_converters(model, columns))
        return ids

    def copy(self, table: str, columns: Sequence[str], rows: Sequence[tuple], *,
             converters: Sequence) -> None:
        """``COPY`` rows into ``table`` (PostgreSQL only), each value by its converter."""
        pairs = list(enumerate(converters))
        out = io.StringIO()
        write = out.write
        for row in rows:
            write("\t".join(["\\N" if row[n] is None else convert(row[n])
                              for n, convert in pairs]))
            write("\n")
        out.seek(0)
        with connection.cursor() as cursor:
            cursor.cursor.copy_expert(
                f"COPY {table} ({', '.join(columns)}) FROM STDIN", out)
