"""Write audit records. Call inside the transaction of the change being recorded."""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from decimal import Decimal
from typing import Any

from django.db import models

from .models import AuditRecord


def _plain(value: Any) -> Any:
    """Return ``value`` in a JSON-safe form that keeps its meaning."""
    if isinstance(value, models.Model):
        return value.pk
    if isinstance(value, (dt.date, dt.datetime, Decimal)):
        return str(value)
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


# Secrets never copied into the audit trail (a link's nonce rebuilds its token).
NEVER_RECORDED = frozenset({"token_nonce", "token_hash", "password"})


def snapshot(obj: models.Model, fields: Iterable[str] | None = None) -> dict[str, Any]:
    """Return the concrete field values of ``obj`` (by attname) as plain JSON values."""
    names = fields or [f.attname for f in obj._meta.concrete_fields
                       if f.attname not in NEVER_RECORDED]
    return {name: _plain(getattr(obj, name)) for name in names}


def diff(before: Mapping[str, Any], after: Mapping[str, Any]) -> dict[str, list[Any]]:
    """Return ``{field: [before, after]}`` for the fields whose value changed."""
    keys = list(dict.fromkeys([*before, *after]))
    return {
        k: [before.get(k), after.get(k)] for k in keys if before.get(k) != after.get(k)
    }


def new_record(
    *,
    obj: models.Model,
    action: str,
    actor=None,
    actor_label: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditRecord:
    """Return an unsaved audit record for ``obj``; ``before``/``after`` are snapshots.

    For changes made in a batch, saved together by ``AuditRecord.objects.bulk_create``.
    """
    changes = diff(before or {}, after or {}) if (before or after) else {}
    signed_in = getattr(actor, "is_authenticated", False)
    return AuditRecord(
        actor=actor if signed_in else None,
        actor_label=actor_label or ("" if signed_in else "system"),
        action=action,
        object_type=obj._meta.label_lower,
        object_id=str(obj.pk),
        object_repr=str(obj)[:200],
        changes=changes,
        reason=reason,
    )


def record_change(
    *,
    obj: models.Model,
    action: str,
    actor=None,
    actor_label: str = "",
    before: Mapping[str, Any] | None = None,
    after: Mapping[str, Any] | None = None,
    reason: str = "",
) -> AuditRecord:
    """Write one audit record for ``obj``; ``before``/``after`` are snapshots."""
    record = new_record(obj=obj, action=action, actor=actor, actor_label=actor_label,
                        before=before, after=after, reason=reason)
    record.save()
    return record


def history(obj: models.Model):
    """Return the audit records of ``obj``, newest first."""
    return AuditRecord.objects.filter(
        object_type=obj._meta.label_lower, object_id=str(obj.pk),
    ).select_related("actor")
