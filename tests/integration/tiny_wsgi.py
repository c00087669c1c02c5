"""A WSGI app for the gunicorn access-log test: answers every request with a redirect.

The redirect's ``Location`` repeats the path, as the survey's own redirects do, so the
response headers hold a private link too. A path ending in ``/boom/`` raises, so that
gunicorn's error log names the request. No Django, no database.
"""

from __future__ import annotations


def app(environ, start_response):
    path = environ.get("PATH_INFO", "/")
    if path.endswith("/boom/"):
        raise RuntimeError("the test asked for a failure")
    body = b"ok"
    start_response("302 Found", [
        ("Location", path.rstrip("/") + "/1/"),
        ("Content-Type", "text/plain"),
        ("Content-Length", str(len(body))),
    ])
    return [body]
