"""``rebuild_reliability_sums``: list every version's items for alpha's running sums and
sum their answers again where they are not listed as the version's file reads them."""

from __future__ import annotations

from django.core.management.base import BaseCommand
from django.db import connection, transaction

from outcomes.instruments.models import Instrument
from outcomes.instruments.reliability import every_version, rebuild


class Command(BaseCommand):
    help = ("List each instrument version's items for the running sums behind Cronbach's "
            "alpha where they are not listed as its file reads them (a version stored by "
            "code that bypasses the services), and sum its answers again. PostgreSQL only; "
            "response writes wait while it runs: run it at a quiet time.")

    def handle(self, *args, **options) -> None:
        if connection.vendor != "postgresql":
            self.stdout.write("Nothing to do: the running sums are PostgreSQL's (SQLite "
                              "reads alpha from the answers).")
            return
        with transaction.atomic(), connection.cursor() as cursor:
            rebuilt = rebuild(cursor, every_version(Instrument.objects.all()))
        self.stdout.write(f"{rebuilt} score(s) of instrument versions listed and summed "
                          "again." if rebuilt else "Every version is listed: nothing to do.")
