"""One date format per language on every page (FORMAT_MODULE_PATH; SPEC section 7).

Each language's module sets the formats ``|date`` and ``{{ value }}`` use, so a template
never spells a format out: dates read "1 June 2026" (Spanish "1 de junio de 2026"),
date-times "1 June 2026, 10:02". What a module leaves out comes from Django's own.
"""
