"""bench/learning.py: its task suite's checkers, and its plumbing against the scripted server.

The checkers are what the benchmark's success rates rest on, so each one must accept its task's
reference solution and refuse an untouched workspace and a plausible wrong answer. The plumbing
run drives the real benchmark script (both runs, reflection, accepting the proposal) against
scripted replies: it shows the JSON holds what a user reads, not how good any model is.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from tests.llm_server import Reply, ScriptedLLM, text, tool_calls

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "bench"))

import learning_tasks  # noqa: E402

KEY = "sk-bench-secret-4242"
SKILL = """---
name: summarize-csv
description: Summarize a CSV file into summary.json (row count, min, max and mean per column).
---
# Summarize a CSV file

1. Run this with execute_python, with PATH the CSV file:

```python
import csv, json
rows = list(csv.DictReader(open(PATH, newline="")))
```

2. Write summary.json and say what it holds.
"""
TASK_FIELDS = {
    "id",
    "family",
    "success",
    "reason",
    "status",
    "steps",
    "tool_calls",
    "tokens",
    "prompt_tokens",
    "completion_tokens",
    "seconds",
    "skills_applied",
}


def _solve(task: learning_tasks.Task, workspace: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-c", task.solution],
        cwd=workspace,
        capture_output=True,
        text=True,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def _workspace(task: learning_tasks.Task, tmp_path: Path) -> Path:
    workspace = tmp_path / task.id
    workspace.mkdir()
    task.write_inputs(workspace)
    return workspace


def test_suite_has_enough_tasks_and_families():
    tasks = learning_tasks.suite()
    families = learning_tasks.families(tasks)
    assert len(tasks) >= 20
    assert len(families) >= 5
    assert len({t.id for t in tasks}) == len(tasks)
    for family in families:  # enough per family for a cluster of 3 successes and one more
        assert sum(t.family == family for t in tasks) >= 4


def test_every_checker_accepts_its_reference_solution_only(tmp_path):
    for task in learning_tasks.suite():
        workspace = _workspace(task, tmp_path)
        untouched, reason = task.check(workspace)
        assert not untouched, task.id
        assert "was not written" in reason or "missing" in reason, (task.id, reason)
        _solve(task, workspace)
        assert task.check(workspace) == (True, "ok"), task.id


@pytest.mark.parametrize(
    ("task_id", "spoil", "complaint"),
    [
        ("csv-1", lambda w: _edit_json(w / "summary.json", ["price", "mean"], 1.0), "price mean"),
        ("csv-2", lambda w: _edit_json(w / "summary.json", ["rows"], 1), "rows"),
        ("units-1", lambda w: _replace(w / "temps_celsius.csv", "Oslo", "OSLO"), "names"),
        ("text-1", lambda w: _edit_json(w / "essay_stats.json", ["words"], 1), "words"),
        ("dates-3", lambda w: _replace(w / "weekdays.csv", "day\n", "day\nx,Monday\n"), "names"),
        ("files-1", lambda w: (w / "organized" / "none" / "LICENSE").unlink(), "missing"),
        ("json-4", lambda w: _edit_json(w / "by_host.json", ["alpha", 0], 1), "by_host.json"),
        ("files-4", lambda w: next((w / "by_category").rglob("tax.md")).unlink(), "missing"),
    ],
)
def test_checkers_refuse_a_wrong_result(tmp_path, task_id, spoil, complaint):
    task = next(t for t in learning_tasks.suite() if t.id == task_id)
    workspace = _workspace(task, tmp_path)
    _solve(task, workspace)
    spoil(workspace)
    ok, reason = task.check(workspace)
    assert not ok
    assert complaint in reason


def _edit_json(path: Path, keys: list[str | int], delta: float) -> None:
    data = json.loads(path.read_text())
    inner = data
    for key in keys[:-1]:
        inner = inner[key]
    inner[keys[-1]] += delta
    path.write_text(json.dumps(data))


def _replace(path: Path, old: str, new: str) -> None:
    content = path.read_text()
    assert old in content
    path.write_text(content.replace(old, new, 1))


def _call(name: str, arguments: dict[str, str]) -> Reply:
    return tool_calls([(name, json.dumps(arguments))])


def test_bench_runs_twice_and_learns_a_skill_against_the_scripted_server(tmp_path):
    tasks = [t for t in learning_tasks.suite() if t.id in ("csv-1", "csv-2", "csv-3")]
    out = tmp_path / "learning.json"
    with ScriptedLLM() as llm:
        for task in tasks:  # run 1: plan, the task's code, answer
            llm.queue(
                text("1. Run Python."),
                _call("execute_python", {"code": task.solution}),
                text("Done."),
            )
        llm.queue(text(SKILL))  # reflection distils one skill from the three runs
        for task in tasks:  # run 2: the agent loads the skill first
            llm.queue(
                text("1. Load the skill. 2. Run Python."),
                _call("load_skill", {"name": "summarize-csv"}),
                _call("execute_python", {"code": task.solution}),
                text("Done with the skill."),
            )
        env = {k: v for k, v in os.environ.items() if not k.startswith("LLMOS_")}
        done = subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "learning.py"),
                *("--base-url", llm.url, "--model", "scripted-model", "--no-memory"),
                *("--tasks", "csv-1,csv-2,csv-3", "--out", str(out)),
            ],
            env=env | {"LLMOS_API_KEY": KEY},
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        requests = llm.requests
        assert done.returncode == 0, done.stderr
        assert llm.pending == 0

    report = json.loads(out.read_text())
    assert report["endpoint"] == {"base_url": llm.url, "model": "scripted-model", "key_set": True}
    for where in (done.stdout, done.stderr, out.read_text()):
        assert KEY not in where
    completions = [r for r in requests if r["path"] == "/v1/chat/completions"]
    assert all(r["headers"]["authorization"] == f"Bearer {KEY}" for r in completions)

    before, after = report["runs"]["without_skills"], report["runs"]["with_skills"]
    assert [r["id"] for r in before] == [r["id"] for r in after] == ["csv-1", "csv-2", "csv-3"]
    for result in before + after:
        assert result.keys() >= TASK_FIELDS
        assert result["success"] is True, result
        assert result["status"] == "final"
        assert result["tokens"] == result["prompt_tokens"] + result["completion_tokens"] > 0
        assert result["seconds"] > 0
    assert [r["steps"] for r in before] == [3, 3, 3]  # plan, code, answer
    assert [r["steps"] for r in after] == [4, 4, 4]  # plan, load_skill, code, answer
    assert all(r["skills_applied"] == [] for r in before)
    assert all(r["skills_applied"] == ["summarize-csv"] for r in after)

    reflection = report["reflection"]
    assert reflection["accepted"] == ["summarize-csv"]
    assert [p["kind"] for p in reflection["proposals"]] == ["new"]
    assert len(reflection["proposals"][0]["sources"]) == 3
    assert [s["name"] for s in reflection["skills"]] == ["summarize-csv"]
    # run 2's model was told about the skill, run 1's was not
    first_run_2 = completions[len(tasks) * 3 + 1]
    assert "summarize-csv" in json.dumps(first_run_2["body"]["messages"])
    assert "summarize-csv" not in json.dumps(completions[0]["body"]["messages"])

    summary = report["summary"]
    assert summary["csv-summary"]["without_skills"]["success_rate"] == 1.0
    assert summary["csv-summary"]["with_skills"]["skills_applied"] == 3
    assert summary["csv-summary"]["with_skills"]["skills"] == ["summarize-csv"]
    assert summary["all"]["with_skills"]["mean_steps"] == 4.0
    assert "csv-summary" in done.stdout  # the side-by-side table
    assert report["settings"]["memory"] is False
    assert report["machine"]["python"]


def _bench(
    tmp_path: Path, base_url: str, *args: str
) -> tuple[subprocess.CompletedProcess[str], dict[str, Any]]:
    out = tmp_path / "learning.json"
    env = {k: v for k, v in os.environ.items() if not k.startswith("LLMOS_")}
    done = subprocess.run(
        [
            *(sys.executable, str(ROOT / "bench" / "learning.py"), "--base-url", base_url),
            *("--model", "scripted-model", "--no-memory", "--out", str(out), *args),
        ],
        env=env | {"LLMOS_API_KEY": KEY},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return done, json.loads(out.read_text())


def test_a_task_past_its_time_limit_is_stopped_and_counted_as_a_failure(tmp_path):
    with ScriptedLLM() as llm:
        llm.queue(text("1. Think for a long time.", chunk_size=4, delay=0.5))
        llm.queue(text("1. Think for a long time.", chunk_size=4, delay=0.5))
        done, report = _bench(tmp_path, llm.url, "--tasks", "json-1", "--timeout", "1")
    for run in ("without_skills", "with_skills"):
        [result] = report["runs"][run]
        assert result["status"] == "timeout"
        assert result["success"] is False
        assert "was not written" in result["reason"]
    assert report["reflection"]["proposals"] == []
    assert "0/1 -> 0/1" in done.stdout


def test_an_endpoint_refusing_the_key_fails_every_task_and_still_writes_the_report(tmp_path):
    with ScriptedLLM(require_key="sk-another-key") as llm:
        done, report = _bench(tmp_path, llm.url, "--tasks", "dates-1,files-2")
    for run in ("without_skills", "with_skills"):
        assert [r["status"] for r in report["runs"][run]] == ["error", "error"]
        assert not any(r["success"] for r in report["runs"][run])
    assert report["summary"]["all"]["without_skills"]["success_rate"] == 0.0
    assert KEY not in done.stdout + done.stderr


def test_the_report_names_the_endpoint_without_credentials():
    import learning

    endpoint = learning.Endpoint("https://me:pw@gw.example:8443/v1?key=sk-q#x", "m", KEY)
    assert endpoint.public() == {
        "base_url": "https://gw.example:8443/v1",
        "model": "m",
        "key_set": True,
    }
    assert KEY not in repr(endpoint)
