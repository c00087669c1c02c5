"""A production-like stack for the load benchmark and the soak: settings, a yardstick view.

Bench-only: nothing in ``outcomes/`` imports it, and the app's own URLs do not change.
"""
