"""``import_study`` over large files, on PostgreSQL: answer rows per second and peak memory.

Run: DATABASE_URL=postgres://postgres@127.0.0.1:5432/outcomes_bench \\
         .venv/bin/python bench/import_bench.py [--shape full|odi] [--again] [ROWS ...]
     (default: full 100000 1000000)

For each size: empties the database, sets up the demo study (no patients), writes a
patients.csv and a responses.csv of about ROWS answer rows into a temporary folder, then
runs ``manage.py import_study`` on them in a fresh process and reports its wall time,
answer rows per second, the peak of Python's own allocations (tracemalloc) and the
process's peak resident memory (VmHWM: RSS, Django and the libraries included). ``--again``
then imports the same files a second time (it must change nothing) and times that too.

Shapes: ``full`` (the default): every patient answers every instrument at every time
point (135 answer rows each: ODI 10, NRS 1, EQ-5D-3L 6, PROMIS 10, at 5 visits), so a
million rows is 7,408 patients; ``odi``: every patient one baseline ODI (10 rows each),
the shape of issue 16's 206-second figure (10,000 patients for 100,000 rows). One
response in 50 leaves two ODI sections blank (not scorable, warned) and one in 40 is
completed a little outside its window (flagged, warned): real legacy data has both.
The answer rows come in a shuffled order of responses, as a legacy export may.

Wall time depends on what else the machine runs; the CPU seconds of the import's own
process and of its PostgreSQL backend (read from /proc when the server is local) are
printed beside it, with the load average, so a figure taken on a busy machine can be
read for what it is.
"""

from __future__ import annotations

import argparse
import csv
import datetime as dt
import json
import os
import random
import subprocess
import sys
import tempfile
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _postgres import ROOT, fresh_database, setup_django_on_postgres

ODI = ("pain_intensity", "personal_care", "lifting", "walking", "sitting", "standing",
       "sleeping", "sex_life", "social_life", "travelling")
EQ5D = ("mobility", "self_care", "usual_activities", "pain_discomfort", "anxiety_depression")
PROMIS = ("global01", "global02", "global03", "global04", "global05", "global09r",
          "global06", "global10r", "global08r", "global07r")
SCHEDULE = (("baseline", 0), ("m1", 30), ("m3", 90), ("m6", 180), ("m12", 365))


def answers(rng: random.Random, instrument: str) -> list[tuple[str, str]]:
    if instrument == "odi":
        values = [str(rng.randint(0, 5)) for _ in ODI]
        if rng.random() < 0.02:  # two sections blank: not scorable
            values[3] = values[7] = ""
        return list(zip(ODI, values, strict=True))
    if instrument == "nrs11":
        return [("pain", str(rng.randint(0, 10)))]
    if instrument == "eq5d3l":
        return [(d, str(rng.randint(1, 3))) for d in EQ5D] + [("vas", str(rng.randint(0, 100)))]
    return [(item, str(rng.randint(0, 10) if item == "global07r" else rng.randint(1, 5)))
            for item in PROMIS]


def write_files(folder: Path, rows: int, shape: str) -> tuple[Path, Path, int, int]:
    """Write the two files; return their paths, the patients and the answer rows."""
    rng = random.Random(16)
    per_patient = 135 if shape == "full" else 10
    size = max(1, round(rows / per_patient))
    today = dt.date.today()
    patients, responses = folder / "patients.csv", folder / "responses.csv"
    groups = []
    with patients.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["patient", "arm", "site", "sex", "age", "bmi", "opioid_mme",
                         "enrolled_date", "index_date", "email", "mobile",
                         "preferred_channel", "language"])
        for n in range(size):
            code = f"B-{n:06d}"
            index = today - dt.timedelta(days=500 + n % 300)
            enrolled = index - dt.timedelta(days=n % 20)
            writer.writerow([code, "BMC" if n % 2 else "CONTROL", "MAIN",
                             "female" if n % 3 else "male", 30 + n % 50,
                             f"{20 + n % 150 / 10:.1f}", n % 4 * 15, enrolled, index,
                             f"{code.lower()}@example.org", "+44 7700 900123",
                             "email", "en" if n % 5 else "es"])
            visits = SCHEDULE if shape == "full" else SCHEDULE[:1]
            for timepoint, day in visits:
                answered = max(index + dt.timedelta(days=day), enrolled)
                if rng.random() < 0.025:
                    answered += dt.timedelta(days=45)  # late: out of window
                for instrument in (("odi", "nrs11", "eq5d3l", "promis_gh")
                                   if shape == "full" else ("odi",)):
                    groups.append((code, timepoint, instrument, answered.isoformat()))
    rng.shuffle(groups)
    count = 0
    with responses.open("w", newline="", encoding="utf-8") as out:
        writer = csv.writer(out)
        writer.writerow(["patient", "timepoint", "instrument", "item", "value",
                         "completed_date"])
        for code, timepoint, instrument, day in groups:
            for item, value in answers(rng, instrument):
                writer.writerow([code, timepoint, instrument, item, value, day])
                count += 1
    return patients, responses, size, count


CHILD = """
import json, os, resource, sys, time
sys.path.insert(0, {root!r})
sys.path.insert(0, {bench!r})
from _postgres import setup_django_on_postgres
setup_django_on_postgres()
from io import StringIO
from django.core.management import call_command
from django.db import connection


def backend_cpu():
    # The PostgreSQL backend serving this connection, when it runs on this machine.
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        pid = cursor.fetchone()[0]
    try:
        fields = open(f"/proc/{{pid}}/stat").read().rsplit(")", 1)[1].split()
    except OSError:
        return None
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb():
    # VmHWM, this process's own peak (ru_maxrss is inherited from the parent across exec).
    for line in open("/proc/self/status"):
        if line.startswith("VmHWM:"):
            return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


if {trace!r}:
    import tracemalloc
    tracemalloc.start()
before = backend_cpu()
cpu = time.process_time()
started = time.perf_counter()
out, err = StringIO(), StringIO()
call_command("import_study", study="BMC-LBP", patients={patients!r}, responses={responses!r},
             stdout=out, stderr=err)
seconds = time.perf_counter() - started
after = backend_cpu()
print(json.dumps({{
    "seconds": seconds, "python_cpu": time.process_time() - cpu,
    "postgres_cpu": None if before is None or after is None else after - before,
    "python_peak_mb": tracemalloc.get_traced_memory()[1] / 2**20 if {trace!r} else None,
    "rss_peak_mb": peak_rss_mb(),
    "summary": out.getvalue().strip(), "warnings": err.getvalue().count("warning:")}}))
"""


def run_import(patients: Path, responses: Path, *, trace: bool = False) -> dict:
    code = CHILD.format(root=str(ROOT), bench=str(Path(__file__).resolve().parent),
                        patients=str(patients), responses=str(responses), trace=trace)
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                          env=os.environ, check=False)
    if done.returncode:
        sys.exit(done.stderr[-5000:])
    return json.loads(done.stdout.strip().splitlines()[-1])


def cpu_text(result: dict) -> str:
    postgres = result["postgres_cpu"]
    return (f"CPU: Python {result['python_cpu']:.1f} s"
            + ("" if postgres is None else f", PostgreSQL backend {postgres:.1f} s"))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("rows", nargs="*", type=int, default=[100_000, 1_000_000])
    parser.add_argument("--shape", choices=["full", "odi"], default="full")
    parser.add_argument("--again", action="store_true", help="import the same files twice")
    parser.add_argument("--python-peak", action="store_true",
                        help="one more import, under tracemalloc (slower), for the peak of "
                             "Python's own allocations")
    args = parser.parse_args()
    setup_django_on_postgres()
    from patients.demo import ensure_demo_study

    print(f"load average before: {' '.join(f'{x:.1f}' for x in os.getloadavg())} "
          f"({os.cpu_count()} CPUs)")
    for rows in args.rows:
        fresh_database()
        ensure_demo_study()
        with tempfile.TemporaryDirectory() as folder:
            patients, responses, size, count = write_files(Path(folder), rows, args.shape)
            mb = responses.stat().st_size / 2**20
            result = run_import(patients, responses)
            print(f"{count:>9,} answer rows ({size:,} patients, {mb:.0f} MB, {args.shape}): "
                  f"{result['seconds']:.1f} s = {count / result['seconds']:,.0f} rows/s; "
                  f"peak RSS {result['rss_peak_mb']:.0f} MB; {cpu_text(result)}; "
                  f"{result['warnings']:,} warnings")
            print(f"          {result['summary']}")
            if args.again:
                again = run_import(patients, responses)
                print(f"          again: {again['seconds']:.1f} s ({cpu_text(again)}); "
                      f"{again['summary']}")
            if args.python_peak:
                fresh_database()
                ensure_demo_study()
                traced = run_import(patients, responses, trace=True)
                print(f"          peak of Python's allocations (tracemalloc): "
                      f"{traced['python_peak_mb']:.0f} MB")
        sys.stdout.flush()


if __name__ == "__main__":
    main()
