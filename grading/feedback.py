"""One self-contained feedback page per student: status, score, and what each test said.

The page shows the messages of failed tests (instructors write them for
students) and the student's own output and errors, never the source of the
hidden tests.
"""

from __future__ import annotations

import html
from pathlib import Path

_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 52rem; margin: 2rem auto; padding: 0 1rem;
       color: #1b1b1b; line-height: 1.45; }
table { border-collapse: collapse; width: 100%; }
th, td { border: 1px solid #bbb; padding: .35rem .5rem; text-align: left; vertical-align: top; }
.passed { color: #0a5d12; } .failed { color: #9c1c1c; }
pre { background: #f4f4f4; padding: .5rem; overflow-x: auto; white-space: pre-wrap; }
"""


def render(assignment: str, master, verdict) -> str:
    e = html.escape
    rows = []
    for cell in master.tests:
        test = verdict.tests.get(cell.grade_id) or {}
        passed = test.get("passed") is True
        earned = cell.points if passed else 0
        message = test.get("message") or ("" if passed else "not run")
        output = test.get("output") or ""
        detail = e(message) + (f"<pre>{e(output)}</pre>" if output.strip() else "")
        rows.append(f"<tr><td>{e(cell.grade_id)}</td>"
                    f"<td class=\"{'passed' if passed else 'failed'}\">"
                    f"{'passed' if passed else 'failed'}</td>"
                    f"<td>{earned:g} / {cell.points:g}</td><td>{detail}</td></tr>")
    errors = [c for c in verdict.cells if c.get("kind") == "student" and c.get("error")]
    notes = "".join(f"<li>{e(str(c.get('index')))}: <code>{e(str(c['error']))}</code></li>"
                    for c in errors)
    outputs = "".join(
        f"<h3>{e(str(c.get('index')))}</h3><pre>{e(c['output'])}</pre>"
        for c in verdict.cells if c.get("kind") == "student" and str(c.get("output", "")).strip())
    return f"""<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8">
<title>Feedback: {e(assignment)} for {e(verdict.student)}</title>
<style>{_STYLE}</style></head>
<body>
<h1>Feedback on {e(assignment)}</h1>
<p>Student: <strong>{e(verdict.student)}</strong>. Score: <strong>{verdict.score:g} / \
{verdict.max_score:g}</strong>. Status: <strong>{e(verdict.status)}</strong>.</p>
<p>{e(verdict.reason)}</p>
<h2>Tests</h2>
<table><thead><tr><th scope="col">test</th><th scope="col">result</th><th scope="col">points</th>
<th scope="col">what it said</th></tr></thead><tbody>
{''.join(rows)}
</tbody></table>
{'<h2>Errors in your cells</h2><ul>' + notes + '</ul>' if notes else ''}
{'<h2>Output of your cells</h2>' + outputs if outputs else ''}
</body></html>
"""


def write_feedback(path: Path, assignment: str, master, verdict) -> Path:
    """Write the feedback page atomically; returns its path."""
    from .batch import write_atomic

    write_atomic(path, render(assignment, master, verdict))
    return path
