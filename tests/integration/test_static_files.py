"""Static files as production stores them: the release step's collectstatic must succeed."""

from __future__ import annotations

import json

from django.core.management import call_command


def test_collectstatic_with_the_production_manifest_storage_succeeds(tmp_path, settings):
    # The manifest storage rewrites every url() and sourceMappingURL and stops at the
    # first file that is not shipped (the vendored Bootstrap once named its .map files).
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {
        **settings.STORAGES,
        "staticfiles": {"BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"},
    }
    call_command("collectstatic", interactive=False, verbosity=0)
    manifest = json.loads((tmp_path / "staticfiles.json").read_text())
    assert "vendor/bootstrap/bootstrap.min.css" in manifest["paths"]
