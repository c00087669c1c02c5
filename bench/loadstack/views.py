"""The yardstick: the least a Django view that writes can do on this stack."""

from __future__ import annotations

from django.db import connection
from django.http import HttpRequest, HttpResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

YARDSTICK_TABLE = "bench_yardstick"


@csrf_exempt
@require_POST
def yardstick(request: HttpRequest) -> HttpResponse:
    """Insert one row (its own transaction, as autocommit gives) and answer in plain text."""
    with connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {YARDSTICK_TABLE} (client) VALUES (%s)",
                       [request.POST.get("client", "")[:40]])
    return HttpResponse("stored\n", content_type="text/plain")
