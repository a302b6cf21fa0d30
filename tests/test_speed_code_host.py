"""Grader's side of a code part made cheaper (session 27) draws, encodes and keeps the very
values it did before: the trial pools, byte for byte, for many seeds and parts; the jobs'
text; the outputs a verdict keeps."""

from __future__ import annotations

import json
from typing import Any

import numpy as np
import pytest
from pydantic import TypeAdapter

from grader.spec import Part
from grader.types.code import runs, structure
from grader.types.code.outputs import kept_outputs
from grader.types.code.part import CodePart
from grader.types.code.source import program
from grader.types.code.structure import Pool, draw_pool
from grader.types.code.trials import Trial, draw_trials

PART = TypeAdapter(Part)

PARTS: dict[str, dict[str, Any]] = {
    "relu": {
        "sizes": {"b": [1, 4], "n": [1, 5]},
        "inputs": {"x": {"shape": ["b", "n"], "choices": [-1, 0, 1, 2]}, "dout": {"shape": ["b", "n"]}},
        "answer": "def f(x, dout):\n    return dout * (x > 0)\n",
    },
    "sgd": {
        "sizes": {"m": [1, 4], "n": [1, 5]},
        "inputs": {"w": {"shape": ["m", "n"]}, "g": {"shape": ["m", "n"]}, "lr": {"range": [0.01, 0.5]}},
        "answer": "def f(w, g, lr):\n    return w - lr * g\n",
    },
    "adam": {
        "sizes": {"n": [1, 4]},
        "inputs": {
            "g": {"shape": ["n"]},
            "v": {"shape": ["n"], "range": [0, 1]},
            "t": {"dtype": "int64", "range": [1, 50]},
        },
        "answer": "import numpy as np\n\ndef f(g, v, t):\n    return g / (np.sqrt(v) + 1e-8) * t\n",
    },
    "mixed": {
        "sizes": {"b": [1, 3], "n": [2, 6]},
        "inputs": {
            "x": {"shape": ["b", "n"], "dtype": "float32", "range": [-500, 500]},
            "p": {"shape": ["n"], "range": [0.5, 2]},
            "s": {"range": [-3, -1]},
            "k": {"shape": ["n"], "dtype": "bool", "range": [0, 2]},
        },
        "answer": "import numpy as np\n\ndef f(x, p, s, k):\n    return np.log(p) * x.sum() + s / p + k\n",
    },
}


def code_part(name: str) -> CodePart:
    part = PART.validate_python({"id": name, "type": "code", "entry": "f", "trials": 3, **PARTS[name]})
    assert isinstance(part, CodePart)
    return part


def _twin_as_before(trial: Trial, rng: np.random.Generator) -> Trial:
    """structure._twin before session 27: a draw of ``rng.choice`` per input."""
    steps = {"float64": 2.0**-40, "float32": 2.0**-20}
    inputs = {}
    for name, array in trial.inputs.items():
        step = steps.get(str(array.dtype))
        if step is None or not array.size:
            inputs[name] = array
            continue
        moved = array * (1 + step * rng.choice(np.array([-1.0, 1.0]), size=array.shape))
        inputs[name] = moved.astype(array.dtype)
    return Trial(trial.sizes, inputs, structure.TWIN, trial.edge)


def _same_pools(one: Pool, other: Pool) -> None:
    assert one.mandatory == other.mandatory
    assert len(one.trials) == len(other.trials)
    for mine, theirs in zip(one.trials, other.trials, strict=True):
        assert (mine.sizes, mine.kind, mine.edge) == (theirs.sizes, theirs.kind, theirs.edge)
        assert list(mine.inputs) == list(theirs.inputs)
        for name, array in mine.inputs.items():
            before = theirs.inputs[name]
            assert type(array) is type(before), (mine.edge, name)
            assert (array.dtype, array.shape) == (before.dtype, before.shape)
            assert array.tobytes() == before.tobytes(), (mine.edge, name)


@pytest.mark.parametrize("name", sorted(PARTS))
def test_the_pools_are_those_drawn_before(name: str, monkeypatch: pytest.MonkeyPatch) -> None:
    part = code_part(name)
    seeds = range(150)
    drawn = [draw_pool(part, seed) for seed in seeds]
    monkeypatch.setattr(structure, "_twin", _twin_as_before)
    for seed, pool in zip(seeds, drawn, strict=True):
        assert pool.trials
        _same_pools(pool, draw_pool(part, seed))


@pytest.mark.parametrize("trace", [False, True])
@pytest.mark.parametrize("name", sorted(PARTS))
def test_a_jobs_text_is_its_json_with_sorted_keys(name: str, trace: bool) -> None:
    part = code_part(name)
    code = program(part, part.answer, reference=True)
    for trials in ([], draw_trials(part, 5), list(draw_pool(part, 5).trials)):
        job = runs.build_job(part, code, 5, trials, trace=trace)
        expected = json.dumps({key: value for key, value in job.items() if key != "id"}, sort_keys=True)
        assert runs._TEXTS[job["id"]] == f'{expected[:-1]}, "id": "{job["id"]}"}}'


def test_the_outputs_kept_are_those_kept_before() -> None:
    part = code_part("mixed")
    code = program(part, part.answer)
    trials = [*draw_trials(part, 9), *draw_pool(part, 9).plain]
    job = runs.build_job(part, code, 9, trials)
    record = {"job": job["id"], "result": {"trials": [{"output": None}] * len(trials)}}
    assert kept_outputs(job, record, trials) == kept_outputs(job, record)
