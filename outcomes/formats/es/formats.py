"""Spanish: 1 de junio de 2026; 1 de junio de 2026, 10:02."""

DATE_FORMAT = r"j \d\e F \d\e Y"
DATETIME_FORMAT = r"j \d\e F \d\e Y, H:i"
SHORT_DATE_FORMAT = DATE_FORMAT
SHORT_DATETIME_FORMAT = DATETIME_FORMAT
TIME_FORMAT = "H:i"
MONTH_DAY_FORMAT = r"j \d\e F"
YEAR_MONTH_FORMAT = r"F \d\e Y"
# ISO first (the admin's date boxes); day/month/year is how Spanish writes dates in figures.
DATE_INPUT_FORMATS = ["%Y-%m-%d", "%d/%m/%Y"]
