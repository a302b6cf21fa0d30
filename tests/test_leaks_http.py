"""The key never leaks over real HTTP: a wrong answer of every answer type, handed in and
checked by a student of a real ``grader serve``, before and after the release; the API's
answers, the student's page and ``/check`` hold no reference answer in any spelling
(tests/leaks_support.py says which spellings)."""

from __future__ import annotations

import json
import textwrap
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from leaks_support import graded, leaks, own_texts, spellings
from service_server import Server, log_in, make_course, wait_graded

from grader.spec import ProblemSet

PROBLEMS = textwrap.dedent(
    """\
    assignment: keys
    questions:
      - {id: number, type: number, answer: 131072, visible: true}
      - {id: constant, type: expression, answer: "3/7 + 1/21", visible: true}
      - {id: formula, type: expression, answer: "x^2 + 17 x", symbols: {x: real}, visible: true}
      - {id: equation, type: expression, answer: "lambda = 2*eta*gamma", visible: true,
         symbols: {lambda: real, eta: real, gamma: real}}
      - {id: array, type: array, answer: [11, 12, 13], visible: true}
      - {id: shape, type: shape, answer: [24, 24, 128], visible: true}
      - {id: interval, type: interval, answer: "[0, 7)", visible: true}
      - {id: choice, type: choice, answer: B, options: {A: linear, B: quadratic, C: cubic}, visible: true}
      - {id: constraint, type: constraint, fields: [k, s], require: ["floor((32 - k)/s) + 1 = 8", "s = k"],
         answer: {k: 4, s: 4}, visible: true}
      - {id: complexity, type: complexity, answer: "Theta(n^2*d + n*d^2)", symbols: [n, d], visible: true}
      - {id: network, type: network, answer: impossible, visible: true, input: x,
         params: {w0: [2], w1: [2]}, model: "w1 . relu(w0*x)", target: "x^2"}
      - id: code
        type: code
        visible: true
        entry: f
        inputs: {x: {shape: [3]}}
        answer: |
          def f(x):
              return 3 * x + 0.123456
    """
)
WRONG = {
    "number": -131072,
    "constant": "11/21",
    "formula": "x^2 + 16 x",
    "equation": r"\lambda = -2\eta\gamma",
    "array": [11, 12, 14],
    "shape": "24 x 24 x 64",
    "interval": "[0, 7]",
    "choice": "C",
    "constraint": "k = 8, s = 4",
    "complexity": r"\Theta(n^2 d)",
    "network": {"w0": [1, -1], "w1": [1, 1]},
    "code": "def f(x):\n    return 3 * x\n",
}
FUTURE = "2999-01-01T00:00:00Z"
PAST = "2000-01-01T00:00:00Z"


def _views(server: Server, sent: bytes) -> dict[str, str]:
    with server.client("alice") as alice:
        handed = alice.post("/api/v1/assignments/keys/submissions", files={"file": ("answers.json", sent)})
        submission = handed.json()["id"]
        views = {"API": json.dumps(wait_graded(alice, submission), ensure_ascii=False)}
        checked = alice.post("/api/v1/assignments/keys/check", files={"file": ("answers.json", sent)})
        assert checked.status_code == 200, checked.text
        views["/check"] = json.dumps(checked.json(), ensure_ascii=False)
    with httpx.Client(base_url=server.url) as browser:
        login = log_in(browser, "alice", "alice-password")
    page = httpx.get(f"{server.url}/submissions/{submission}", cookies=login.cookies)
    views["page"] = page.text
    return views


@pytest.mark.parametrize("release", [FUTURE, PAST], ids=["before-release", "after-release"])
def test_no_view_of_a_wrong_answer_holds_the_key(tmp_path: Path, release: str) -> None:
    course_yaml = f"assignments:\n  keys: {{due: '{PAST}', release: '{release}'}}\n"
    course = make_course(tmp_path / "course", None, problems=(), course_yaml=course_yaml)
    (course.folder / "problems" / "keys.yaml").write_text(PROBLEMS)
    sent = json.dumps({"answers": WRONG}).encode()  # JSON: a YAML string keeps backslashes as typed
    with Server(course) as server:
        views = _views(server, sent)
    spec = ProblemSet.model_validate(yaml.safe_load(PROBLEMS))
    report, _ = graded(spec, WRONG)  # the verdicts as the server gives them: the readings to look for
    found: list[str] = []
    api = json.loads(views["API"])["report"]["parts"]
    for result, (address, _, part) in zip(report.parts, spec.iter_parts(), strict=True):
        assert result.status.value in ("incorrect", "partial"), (address, result.feedback)
        served = next(p for p in api if p["id"] == address)
        assert served["status"] == result.status.value, (address, served)
        found += [
            f"{address}: {leak}" for leak in leaks(views, spellings(part, result), _public(part, result))
        ]
    assert not found, "\n".join(found)


def _public(part: Any, result: Any) -> str:
    """What the student may see: their answers (every part's: the views show them all), and the
    questions."""
    return own_texts(part, result, WRONG[result.id]) + "\n" + "\n".join(map(str, WRONG.values()))
