"""Settings: ``base`` (development defaults), ``production`` and ``test``."""
