"""English: 1 June 2026; 1 June 2026, 10:02 (the day first, the month in words)."""

DATE_FORMAT = "j F Y"
DATETIME_FORMAT = "j F Y, H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = "j F"
YEAR_MONTH_FORMAT = "F Y"
# ISO first: what the admin's date boxes show and its calendar writes. Never mm/dd/yyyy,
# nor any all-number form: 1/6/2026 is 1 June to some and 6 January to others.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d %B %Y", "%d %b %Y"]
