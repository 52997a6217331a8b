"""The task suite of ``bench/learning.py``: 24 small, checkable tasks in 6 families.

Each :class:`Task` names the files it writes into a fresh workspace, the request the agent gets,
a checker that decides success from the files the agent left behind (never from what the model
says it did), and a reference solution (Python run in the workspace) that proves the checker
accepts a correct result. Tasks of one family ask for the same kind of work on different data,
so a skill learned from three of them should help with the fourth and with the same tasks later.
All data is generated from fixed seeds: the suite is the same on every machine.

    .venv/bin/python bench/learning_tasks.py      # lists the suite
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import random
import re
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

Verdict = tuple[bool, str]
Checker = Callable[[Path], Verdict]
TOLERANCE = 0.011  # answers rounded to 2 decimals may differ by one in the last place


@dataclass(frozen=True)
class Task:
    """One request with its inputs, its checker and a reference solution."""

    id: str
    family: str
    prompt: str
    files: dict[str, str]
    check: Checker
    solution: str

    def write_inputs(self, workspace: Path) -> None:
        for name, content in self.files.items():
            target = workspace / name
            target.parent.mkdir(parents=True, exist_ok=True)
            target.write_text(content, encoding="utf-8")


class Failed(Exception):
    """A checker's reason for refusing a result."""


def verdict(check: Callable[[Path], None]) -> Checker:
    """A checker from a function that raises :class:`Failed` (or anything) on a wrong result."""

    def run(workspace: Path) -> Verdict:
        try:
            check(workspace)
        except Failed as failure:
            return False, str(failure)
        except (OSError, ValueError, KeyError, TypeError, IndexError, AttributeError) as error:
            return False, f"unreadable result: {type(error).__name__}: {error}"
        return True, "ok"

    return run


# --- reading results -----------------------------------------------------------------------------
def read_json(workspace: Path, name: str) -> Any:
    path = workspace / name
    if not path.is_file():
        raise Failed(f"{name} was not written")
    return json.loads(path.read_text(encoding="utf-8"))


def read_rows(workspace: Path, name: str) -> list[dict[str, str]]:
    path = workspace / name
    if not path.is_file():
        raise Failed(f"{name} was not written")
    text = path.read_text(encoding="utf-8-sig")
    return [
        {k.strip(): (v or "").strip() for k, v in row.items()}
        for row in csv.DictReader(io.StringIO(text))
    ]


def near(got: Any, want: float, what: str) -> None:
    if isinstance(got, bool) or abs(float(got) - want) > TOLERANCE:
        raise Failed(f"{what}: got {got!r}, expected {want}")


def same(got: Any, want: Any, what: str) -> None:
    if got != want:
        raise Failed(f"{what}: got {got!r}, expected {want!r}")


def to_csv(header: list[str], rows: list[list[Any]]) -> str:
    out = io.StringIO()
    writer = csv.writer(out, lineterminator="\n")
    writer.writerow(header)
    writer.writerows(rows)
    return out.getvalue()


# --- family 1: CSV summary -----------------------------------------------------------------------
CSV_SUMMARY = (
    'Summarize the CSV file {path}: write summary.json with "rows" (the number of data rows) '
    'and, for each numeric column, an object keyed by the column name with its "min", "max" '
    'and "mean" (rounded to 2 decimals).'
)
CSV_SUMMARY_CODE = """\
import csv, json
rows = list(csv.DictReader(open({path!r}, newline="")))
summary = {{"rows": len(rows)}}
for column in rows[0]:
    try:
        values = [float(row[column]) for row in rows]
    except ValueError:
        continue
    summary[column] = {{"min": min(values), "max": max(values),
                       "mean": round(sum(values) / len(values), 2)}}
json.dump(summary, open("summary.json", "w"), indent=1)
print(summary)
"""


def csv_summary(
    task_id: str,
    path: str,
    label: str,
    *,
    numeric: dict[str, tuple[float, float]],
    seed: int,
    count: int,
) -> Task:
    rng = random.Random(seed)
    columns = list(numeric)
    table = [[round(rng.uniform(*numeric[c]), 1) for c in columns] for _ in range(count)]
    rows: list[list[Any]] = [[f"{label}-{n + 1}", *values] for n, values in enumerate(table)]

    def check(workspace: Path) -> None:
        summary = read_json(workspace, "summary.json")
        same(summary.get("rows"), count, "rows")
        for index, column in enumerate(columns, start=1):
            values = [line[index - 1] for line in table]
            stats = summary.get(column)
            if not isinstance(stats, dict):
                raise Failed(f"no statistics for column {column}")
            near(stats.get("min"), min(values), f"{column} min")
            near(stats.get("max"), max(values), f"{column} max")
            near(stats.get("mean"), round(sum(values) / len(values), 2), f"{column} mean")

    return Task(
        task_id,
        "csv-summary",
        CSV_SUMMARY.format(path=path),
        {path: to_csv([label, *columns], rows)},
        verdict(check),
        CSV_SUMMARY_CODE.format(path=path),
    )


# --- family 2: unit conversion -------------------------------------------------------------------
CONVERT = (
    "Unit conversion: convert the {what} in the CSV file {path} from {source} to {target} and "
    "write {out} with the columns name,{column}, one row per input row in the same order, "
    "values rounded to 2 decimals."
)
CONVERT_CODE = """\
import csv
rows = list(csv.DictReader(open({path!r}, newline="")))
with open({out!r}, "w", newline="") as f:
    w = csv.writer(f)
    w.writerow(["name", {column!r}])
    for row in rows:
        value = float(row[{field!r}])
        w.writerow([row["name"], round({formula}, 2)])
print(open({out!r}).read())
"""


def conversion(
    task_id: str,
    what: str,
    path: str,
    *,
    field: str,
    units: tuple[str, str],
    formula: str,
    convert: Callable[[float], float],
    span: tuple[float, float],
    names: list[str],
    seed: int,
) -> Task:
    rng = random.Random(seed)
    values = [round(rng.uniform(*span), 1) for _ in names]
    source, target = units
    out = path.rsplit(".", 1)[0] + f"_{target}.csv"
    column = target

    def check(workspace: Path) -> None:
        rows = read_rows(workspace, out)
        same([r.get("name") for r in rows], names, f"names in {out}")
        for row, value in zip(rows, values, strict=True):
            near(row.get(column), round(convert(value), 2), f"{row['name']} {column}")

    return Task(
        task_id,
        "unit-conversion",
        CONVERT.format(what=what, path=path, source=source, target=target, out=out, column=column),
        {path: to_csv(["name", field], [[n, v] for n, v in zip(names, values, strict=True)])},
        verdict(check),
        CONVERT_CODE.format(path=path, out=out, column=column, field=field, formula=formula),
    )


# --- family 3: text statistics -------------------------------------------------------------------
TEXT_STATS = (
    'Compute statistics of the text file {path}: write {out} as JSON with "lines" (the number '
    'of lines), "words" (the number of words, where a word is a run of the letters a-z after '
    'lower-casing the text), "unique_words", and "top": the 3 most frequent words as '
    "[word, count] pairs, most frequent first."
)
TEXT_STATS_CODE = """\
import json, re
from collections import Counter
text = open({path!r}, encoding="utf-8").read()
words = re.findall(r"[a-z]+", text.lower())
counts = Counter(words)
top = sorted(counts.items(), key=lambda p: (-p[1], p[0]))[:3]
stats = {{"lines": len(text.splitlines()), "words": len(words),
          "unique_words": len(counts), "top": [list(p) for p in top]}}
json.dump(stats, open({out!r}, "w"), indent=1)
print(stats)
"""
VOCABULARY = [
    "the",
    "river",
    "city",
    "night",
    "garden",
    "window",
    "morning",
    "silver",
    "quiet",
    "old",
    "house",
    "road",
    "light",
    "stone",
    "winter",
    "bird",
    "music",
    "letter",
    "friend",
    "table",
    "summer",
    "rain",
    "north",
    "market",
    "bridge",
    "tower",
]


def text_stats(task_id: str, path: str, out: str, seed: int, lines: int) -> Task:
    rng = random.Random(seed)
    weights = [rng.random() ** 3 for _ in VOCABULARY]
    body = []
    for _ in range(lines):
        words = rng.choices(VOCABULARY, weights, k=rng.randint(4, 11))
        sentence = " ".join(words).capitalize()
        body.append(sentence + rng.choice([".", "!", "?", ", and so on."]))
    text = "\n".join(body) + "\n"
    words = re.findall(r"[a-z]+", text.lower())
    counts = Counter(words)
    top_counts = sorted(counts.values(), reverse=True)[:3]

    def check(workspace: Path) -> None:
        stats = read_json(workspace, out)
        same(stats.get("lines"), lines, "lines")
        same(stats.get("words"), len(words), "words")
        same(stats.get("unique_words"), len(counts), "unique_words")
        top = stats.get("top")
        if not isinstance(top, list) or len(top) != 3:
            raise Failed(f"top: expected 3 [word, count] pairs, got {top!r}")
        same([int(pair[1]) for pair in top], top_counts, "top counts")
        for word, count in top:  # ties may come in any order, but each pair must be true
            same(counts.get(str(word)), int(count), f"count of {word!r}")

    return Task(
        task_id,
        "text-stats",
        TEXT_STATS.format(path=path, out=out),
        {path: text},
        verdict(check),
        TEXT_STATS_CODE.format(path=path, out=out),
    )


# --- family 4: JSON reshaping --------------------------------------------------------------------
def json_reshape(
    task_id: str, prompt: str, *, path: str, data: Any, out: str, want: Any, code: str
) -> Task:
    def check(workspace: Path) -> None:
        same(read_json(workspace, out), want, out)

    return Task(
        task_id,
        "json-reshape",
        prompt,
        {path: json.dumps(data, indent=1) + "\n"},
        verdict(check),
        code,
    )


def json_tasks() -> list[Task]:
    rng = random.Random(4)
    people = [
        {"name": name, "team": rng.choice(["red", "blue", "green"]), "age": rng.randint(20, 60)}
        for name in ["Ana", "Bo", "Cem", "Dita", "Eli", "Fay", "Gus", "Hana", "Ivo", "Jin", "Kai"]
    ]
    teams: dict[str, list[str]] = {}
    for person in people:
        teams.setdefault(str(person["team"]), []).append(str(person["name"]))
    by_team = {team: sorted(names) for team, names in sorted(teams.items())}

    orders: list[dict[str, Any]] = [
        {
            "id": n,
            "customer": rng.choice(["acme", "globex", "initech", "umbrella"]),
            "amount": round(rng.uniform(5, 500), 2),
        }
        for n in range(1, 19)
    ]
    totals: dict[str, float] = {}
    for order in orders:
        key = str(order["customer"])
        totals[key] = totals.get(key, 0.0) + float(order["amount"])
    totals = {k: round(v, 2) for k, v in sorted(totals.items())}

    books = [
        {"title": title, "author": author, "year": year}
        for title, author, year in [
            ("Dune", "Herbert", 1965),
            ("Emma", "Austen", 1815),
            ("Persuasion", "Austen", 1817),
            ("Ubik", "Dick", 1969),
            ("Valis", "Dick", 1981),
            ("Pride and Prejudice", "Austen", 1813),
            ("Children of Dune", "Herbert", 1976),
            ("Dune Messiah", "Herbert", 1969),
            ("The Man in the High Castle", "Dick", 1962),
        ]
    ]
    by_author: dict[str, list[str]] = {}
    for book in sorted(books, key=lambda b: (int(str(b["year"])), str(b["title"]))):
        by_author.setdefault(str(book["author"]), []).append(str(book["title"]))

    services = [
        {"name": name, "host": host, "port": port}
        for name, host, port in [
            ("web", "alpha", 8080),
            ("db", "beta", 5432),
            ("cache", "alpha", 6379),
            ("mail", "gamma", 25),
            ("search", "beta", 9200),
            ("queue", "alpha", 5672),
            ("metrics", "gamma", 9090),
        ]
    ]
    by_host: dict[str, list[int]] = {}
    for service in services:
        by_host.setdefault(str(service["host"]), []).append(int(str(service["port"])))
    by_host = {host: sorted(ports) for host, ports in by_host.items()}
    return [
        json_reshape(
            "json-1",
            "Group the records of a JSON file: read people.json (a list of {name, team, age} "
            "records) and write by_team.json: an object mapping each team to the alphabetically "
            "sorted list of its members' names.",
            path="people.json",
            data=people,
            out="by_team.json",
            want=by_team,
            code="import json\nrows = json.load(open('people.json'))\nout = {}\n"
            "for r in rows:\n    out.setdefault(r['team'], []).append(r['name'])\n"
            "out = {k: sorted(v) for k, v in out.items()}\n"
            "json.dump(out, open('by_team.json', 'w'), indent=1)\nprint(out)\n",
        ),
        json_reshape(
            "json-2",
            "Group the records of a JSON file: read orders.json (a list of {id, customer, "
            "amount} records) and write totals.json: an object mapping each customer to the sum "
            "of their order amounts, rounded to 2 decimals.",
            path="orders.json",
            data=orders,
            out="totals.json",
            want=totals,
            code="import json\nrows = json.load(open('orders.json'))\nout = {}\n"
            "for r in rows:\n    out[r['customer']] = out.get(r['customer'], 0) + r['amount']\n"
            "out = {k: round(v, 2) for k, v in out.items()}\n"
            "json.dump(out, open('totals.json', 'w'), indent=1)\nprint(out)\n",
        ),
        json_reshape(
            "json-3",
            "Group the records of a JSON file: read library/books.json (a list of {title, "
            "author, year} records) and write library/by_author.json: an object mapping each "
            "author to the list of their titles ordered by year (oldest first).",
            path="library/books.json",
            data=books,
            out="library/by_author.json",
            want=by_author,
            code="import json\nrows = json.load(open('library/books.json'))\nout = {}\n"
            "for r in sorted(rows, key=lambda r: (r['year'], r['title'])):\n"
            "    out.setdefault(r['author'], []).append(r['title'])\n"
            "json.dump(out, open('library/by_author.json', 'w'), indent=1)\nprint(out)\n",
        ),
        json_reshape(
            "json-4",
            "Group the records of a JSON file: read services.json (a list of {name, host, port} "
            "records) and write by_host.json: an object mapping each host to the sorted list of "
            "its ports.",
            path="services.json",
            data=services,
            out="by_host.json",
            want=by_host,
            code="import json\nrows = json.load(open('services.json'))\nout = {}\n"
            "for r in rows:\n    out.setdefault(r['host'], []).append(r['port'])\n"
            "out = {k: sorted(v) for k, v in out.items()}\n"
            "json.dump(out, open('by_host.json', 'w'), indent=1)\nprint(out)\n",
        ),
    ]


# --- family 5: date arithmetic -------------------------------------------------------------------
WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]


def _dates(seed: int, count: int) -> list[dt.date]:
    rng = random.Random(seed)
    start = dt.date(2023, 1, 1)
    return [start + dt.timedelta(days=rng.randint(0, 900)) for _ in range(count)]


def date_task(
    task_id: str,
    prompt: str,
    *,
    path: str,
    header: list[str],
    rows: list[list[Any]],
    out: str,
    column: str,
    want: list[str],
    code: str,
) -> Task:
    names = [str(row[0]) for row in rows]

    def check(workspace: Path) -> None:
        got = read_rows(workspace, out)
        same([r.get("name") for r in got], names, f"names in {out}")
        same([r.get(column) for r in got], want, f"{column} in {out}")

    return Task(
        task_id, "date-arithmetic", prompt, {path: to_csv(header, rows)}, verdict(check), code
    )


def _add_months(day: dt.date, months: int) -> dt.date:
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    following = dt.date(year + month // 12, month % 12 + 1, 1)
    return dt.date(year, month, min(day.day, (following - dt.timedelta(days=1)).day))


def date_tasks() -> list[Task]:
    names = ["launch", "audit", "retreat", "migration", "review", "hackathon", "fair"]
    starts, ends = _dates(51, len(names)), _dates(52, len(names))
    spans = [(min(a, b), max(a, b)) for a, b in zip(starts, ends, strict=True)]
    people = ["Ada", "Ben", "Cleo", "Dan", "Eva", "Finn"]
    born = _dates(53, len(people))
    jobs = ["paint", "wiring", "roof", "floor", "garden", "fence"]
    job_start = _dates(54, len(jobs))
    job_days = [random.Random(55 + n).randint(3, 120) for n in range(len(jobs))]
    plans = ["basic", "pro", "team", "family", "student"]
    plan_start = [
        dt.date(2024, 1, 31),
        dt.date(2023, 11, 30),
        dt.date(2024, 5, 15),
        dt.date(2023, 8, 31),
        dt.date(2024, 2, 29),
    ]
    plan_months = [1, 3, 9, 6, 12]
    return [
        date_task(
            "dates-1",
            "Date arithmetic: events.csv has a name, a start date and an end date (YYYY-MM-DD) "
            "per line; write durations.csv with name,days for each, days being the number of "
            "days from the start date to the end date, in the same order.",
            path="events.csv",
            header=["name", "start", "end"],
            rows=[
                [n, a.isoformat(), b.isoformat()] for n, (a, b) in zip(names, spans, strict=True)
            ],
            out="durations.csv",
            column="days",
            want=[str((b - a).days) for a, b in spans],
            code="import csv, datetime as dt\nrows = list(csv.DictReader(open('events.csv')))\n"
            "d = dt.date.fromisoformat\nwith open('durations.csv', 'w', newline='') as f:\n"
            "    w = csv.writer(f); w.writerow(['name', 'days'])\n"
            "    for r in rows: w.writerow([r['name'], (d(r['end']) - d(r['start'])).days])\n",
        ),
        date_task(
            "dates-2",
            "Date arithmetic: jobs.csv has a name, a start date (YYYY-MM-DD) and a number of "
            "days per line; write due.csv with name,due for each, due being the date that many "
            "days after the start date (YYYY-MM-DD), in the same order.",
            path="jobs.csv",
            header=["name", "start", "days"],
            rows=[[j, s.isoformat(), n] for j, s, n in zip(jobs, job_start, job_days, strict=True)],
            out="due.csv",
            column="due",
            want=[
                (s + dt.timedelta(days=n)).isoformat()
                for s, n in zip(job_start, job_days, strict=True)
            ],
            code="import csv, datetime as dt\nrows = list(csv.DictReader(open('jobs.csv')))\n"
            "with open('due.csv', 'w', newline='') as f:\n"
            "    w = csv.writer(f); w.writerow(['name', 'due'])\n"
            "    for r in rows: w.writerow([r['name'], (dt.date.fromisoformat(r['start']) + "
            "dt.timedelta(days=int(r['days']))).isoformat()])\n",
        ),
        date_task(
            "dates-3",
            "Date arithmetic: birthdays.csv has a name and a date (YYYY-MM-DD) per line; write "
            "weekdays.csv with name,weekday for each, weekday being the English name of the "
            "date's day of the week (e.g. Monday), in the same order.",
            path="birthdays.csv",
            header=["name", "date"],
            rows=[[p, b.isoformat()] for p, b in zip(people, born, strict=True)],
            out="weekdays.csv",
            column="weekday",
            want=[WEEKDAYS[b.weekday()] for b in born],
            code="import csv, datetime as dt\nrows = list(csv.DictReader(open('birthdays.csv')))\n"
            "with open('weekdays.csv', 'w', newline='') as f:\n"
            "    w = csv.writer(f); w.writerow(['name', 'weekday'])\n"
            "    for r in rows: w.writerow([r['name'], "
            "dt.date.fromisoformat(r['date']).strftime('%A')])\n",
        ),
        date_task(
            "dates-4",
            "Date arithmetic: subscriptions.csv has a name, a start date (YYYY-MM-DD) and a "
            "number of months per line; write renewals.csv with name,renewal for each, renewal "
            "being the date that many calendar months after the start date (the same day of the "
            "month, or the month's last day when that day does not exist), in the same order.",
            path="subscriptions.csv",
            header=["name", "start", "months"],
            rows=[
                [p, s.isoformat(), m]
                for p, s, m in zip(plans, plan_start, plan_months, strict=True)
            ],
            out="renewals.csv",
            column="renewal",
            want=[
                _add_months(s, m).isoformat() for s, m in zip(plan_start, plan_months, strict=True)
            ],
            code="import csv, calendar, datetime as dt\n"
            "rows = list(csv.DictReader(open('subscriptions.csv')))\n"
            "def add(d, m):\n    i = d.month - 1 + m; y, mo = d.year + i // 12, i % 12 + 1\n"
            "    return dt.date(y, mo, min(d.day, calendar.monthrange(y, mo)[1]))\n"
            "with open('renewals.csv', 'w', newline='') as f:\n"
            "    w = csv.writer(f); w.writerow(['name', 'renewal'])\n"
            "    for r in rows: w.writerow([r['name'], "
            "add(dt.date.fromisoformat(r['start']), int(r['months'])).isoformat()])\n",
        ),
    ]


# --- family 6: file organisation -----------------------------------------------------------------
def _inbox(seed: int, folder: str, names: list[str]) -> dict[str, str]:
    rng = random.Random(seed)
    return {
        f"{folder}/{name}": "".join(rng.choice("abcdefgh \n") for _ in range(rng.randint(5, 90)))
        for name in names
    }


def _same_files(workspace: Path, files: dict[str, str], target: Callable[[str], str]) -> None:
    for path, content in files.items():
        copy = target(path)
        if not (workspace / copy).is_file():
            raise Failed(f"{copy} is missing")
        same((workspace / copy).read_text(encoding="utf-8"), content, f"content of {copy}")


def files_tasks() -> list[Task]:
    inbox = _inbox(
        61,
        "inbox",
        [
            "notes.TXT",
            "photo.jpg",
            "data.csv",
            "report.pdf",
            "song.mp3",
            "LICENSE",
            "more.txt",
            "scan.JPG",
        ],
    )

    def extension(path: str) -> str:
        name = path.rsplit("/", 1)[1]
        return name.rsplit(".", 1)[1].lower() if "." in name else "none"

    def organised(path: str) -> str:
        return f"organized/{extension(path)}/{path.rsplit('/', 1)[1]}"

    def check_organised(workspace: Path) -> None:
        _same_files(workspace, inbox, organised)
        index = read_rows(workspace, "organized/index.csv")
        want = [
            [p.rsplit("/", 1)[1], extension(p), str(len(c.encode()))]
            for p, c in sorted(inbox.items())
        ]
        same(
            [[r.get("file"), r.get("extension"), r.get("bytes")] for r in index],
            want,
            "organized/index.csv",
        )

    photos = _inbox(
        62,
        "camera",
        [
            f"IMG_{day}_{n:04d}.jpg"
            for n, day in enumerate(
                ["20240312", "20240301", "20240417", "20231230", "20240417", "20240105"]
            )
        ],
    )

    def by_month(path: str) -> str:
        day = path.split("_")[1]
        return f"by_month/{day[:4]}-{day[4:6]}/{path.rsplit('/', 1)[1]}"

    logs = _inbox(63, "logs", ["app.log", "db.log", "worker.log", "cron.log", "auth.log", "x.log"])

    def by_size(path: str) -> str:
        size = len(logs[path].encode())
        bucket = "small" if size < 30 else "medium" if size < 60 else "large"
        return f"by_size/{bucket}/{path.rsplit('/', 1)[1]}"

    rng = random.Random(64)
    docs = {
        f"docs/{name}": f"category: {rng.choice(['finance', 'travel', 'health'])}\n"
        + _inbox(65 + n, "x", ["body"])["x/body"]
        for n, name in enumerate(["rent.md", "trip.md", "visit.md", "tax.md", "flight.md"])
    }

    def by_category(path: str) -> str:
        category = docs[path].split("\n", 1)[0].removeprefix("category: ")
        return f"by_category/{category}/{path.rsplit('/', 1)[1]}"

    def check_photos(workspace: Path) -> None:
        _same_files(workspace, photos, by_month)

    def check_sizes(workspace: Path) -> None:
        _same_files(workspace, logs, by_size)

    def check_categories(workspace: Path) -> None:
        _same_files(workspace, docs, by_category)

    family = "file-organisation"
    return [
        Task(
            "files-1",
            family,
            "Sort the files of a folder into subfolders: copy each file of inbox/ into "
            "organized/<ext>/ where <ext> is its extension in lower case without the dot (none "
            "when it has no extension), and write organized/index.csv with the columns "
            "file,extension,bytes, one row per file sorted by file name.",
            inbox,
            verdict(check_organised),
            "import csv, os, shutil\nrows = []\nfor name in sorted(os.listdir('inbox')):\n"
            "    ext = name.rsplit('.', 1)[1].lower() if '.' in name else 'none'\n"
            "    os.makedirs(f'organized/{ext}', exist_ok=True)\n"
            "    shutil.copy(f'inbox/{name}', f'organized/{ext}/{name}')\n"
            "    rows.append([name, ext, os.path.getsize(f'inbox/{name}')])\n"
            "with open('organized/index.csv', 'w', newline='') as f:\n"
            "    w = csv.writer(f); w.writerow(['file', 'extension', 'bytes'])\n"
            "    w.writerows(rows)\n",
        ),
        Task(
            "files-2",
            family,
            "Sort the files of a folder into subfolders: the names of the files in camera/ look "
            "like IMG_YYYYMMDD_NNNN.jpg; copy each file into by_month/YYYY-MM/ (the month in "
            "its name), keeping its name.",
            photos,
            verdict(check_photos),
            "import os, shutil\nfor name in os.listdir('camera'):\n"
            "    day = name.split('_')[1]; folder = f'by_month/{day[:4]}-{day[4:6]}'\n"
            "    os.makedirs(folder, exist_ok=True); shutil.copy(f'camera/{name}', folder)\n",
        ),
        Task(
            "files-3",
            family,
            "Sort the files of a folder into subfolders: copy each file of logs/ into "
            "by_size/<size>/ where <size> is small (under 30 bytes), medium (30 to 59 bytes) or "
            "large (60 bytes or more), keeping its name.",
            logs,
            verdict(check_sizes),
            "import os, shutil\nfor name in os.listdir('logs'):\n"
            "    size = os.path.getsize(f'logs/{name}')\n"
            "    bucket = 'small' if size < 30 else 'medium' if size < 60 else 'large'\n"
            "    os.makedirs(f'by_size/{bucket}', exist_ok=True)\n"
            "    shutil.copy(f'logs/{name}', f'by_size/{bucket}/{name}')\n",
        ),
        Task(
            "files-4",
            family,
            "Sort the files of a folder into subfolders: the first line of each file in docs/ is "
            "'category: <name>'; copy each file into by_category/<name>/, keeping its name.",
            docs,
            verdict(check_categories),
            "import os, shutil\nfor name in os.listdir('docs'):\n"
            "    first = open(f'docs/{name}').readline().strip()\n"
            "    folder = 'by_category/' + first.removeprefix('category: ')\n"
            "    os.makedirs(folder, exist_ok=True); shutil.copy(f'docs/{name}', folder)\n",
        ),
    ]


# --- the suite -----------------------------------------------------------------------------------
def suite() -> list[Task]:
    """Every task, grouped by family in a fixed order."""
    cities = ["Oslo", "Lima", "Cairo", "Perth", "Quito", "Riga", "Seoul", "Tunis"]
    routes = ["ridge", "coast", "valley", "summit", "forest", "lake"]
    parcels = ["box-a", "box-b", "crate", "bag", "drum", "case", "tube"]
    boards = ["oak", "pine", "birch", "maple", "cedar"]
    return [
        csv_summary(
            "csv-1",
            "sales.csv",
            "region",
            numeric={"units": (1, 400), "price": (2, 90)},
            seed=11,
            count=24,
        ),
        csv_summary(
            "csv-2",
            "weather.csv",
            "city",
            numeric={"temp_c": (-10, 35), "rain_mm": (0, 60), "wind_kmh": (0, 80)},
            seed=12,
            count=18,
        ),
        csv_summary(
            "csv-3",
            "grades.csv",
            "student",
            numeric={"math": (30, 100), "physics": (30, 100)},
            seed=13,
            count=30,
        ),
        csv_summary(
            "csv-4",
            "data/inventory.csv",
            "sku",
            numeric={"stock": (0, 900), "weight_kg": (0.1, 40)},
            seed=14,
            count=21,
        ),
        conversion(
            "units-1",
            "temperatures",
            "temps.csv",
            field="fahrenheit",
            units=("fahrenheit", "celsius"),
            formula="(value - 32) * 5 / 9",
            convert=lambda f: (f - 32) * 5 / 9,
            span=(-5, 105),
            names=cities,
            seed=21,
        ),
        conversion(
            "units-2",
            "distances",
            "routes.csv",
            field="miles",
            units=("miles", "kilometers"),
            formula="value * 1.609344",
            convert=lambda m: m * 1.609344,
            span=(1, 300),
            names=routes,
            seed=22,
        ),
        conversion(
            "units-3",
            "weights",
            "parcels.csv",
            field="pounds",
            units=("pounds", "kilograms"),
            formula="value * 0.45359237",
            convert=lambda p: p * 0.45359237,
            span=(0.5, 90),
            names=parcels,
            seed=23,
        ),
        conversion(
            "units-4",
            "lengths",
            "boards.csv",
            field="inches",
            units=("inches", "centimeters"),
            formula="value * 2.54",
            convert=lambda i: i * 2.54,
            span=(6, 120),
            names=boards,
            seed=24,
        ),
        text_stats("text-1", "essay.txt", "essay_stats.json", 31, 14),
        text_stats("text-2", "letters/letter.txt", "letter_stats.json", 32, 9),
        text_stats("text-3", "poem.txt", "poem_stats.json", 33, 22),
        text_stats("text-4", "notes/diary.txt", "diary_stats.json", 34, 17),
        *json_tasks(),
        *date_tasks(),
        *files_tasks(),
    ]


def families(tasks: list[Task]) -> list[str]:
    return list(dict.fromkeys(task.family for task in tasks))


def main() -> None:
    tasks = suite()
    print(f"{len(tasks)} tasks in {len(families(tasks))} families")
    for task in tasks:
        print(f"{task.id:10} {task.family:18} {task.prompt[:80]}")


if __name__ == "__main__":
    main()
