"""Keep ``TimePoint.instruments_version`` in step with the time point's instruments."""

from __future__ import annotations


def instruments_changed_for(*timepoint_ids: int) -> None:
    """Give these time points a new instruments version: every process re-reads the list."""
    from .models import TimePoint, new_version

    for pk in timepoint_ids:
        TimePoint.objects.filter(pk=pk).update(instruments_version=new_version())


def item_saved_or_deleted(sender, instance, **kwargs) -> None:
    instruments_changed_for(instance.timepoint_id)


def instruments_changed(sender, instance, action, reverse, pk_set, **kwargs) -> None:
    """``timepoint.instruments.add()/remove()/set()/clear()``, or from the instrument's side."""
    if not action.startswith("post_"):
        return
    from .models import TimePoint

    if not reverse:
        instruments_changed_for(instance.pk)
    elif pk_set is not None:
        instruments_changed_for(*pk_set)
    else:  # instrument.timepoints.clear(): which ones is gone already; renew them all
        instruments_changed_for(*TimePoint.objects.values_list("pk", flat=True))
