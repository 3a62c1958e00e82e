"""The BLAS/OpenMP thread count (``SIPAS_BLAS_THREADS``, :mod:`sipas.threads`).

The stages run under ``threadpoolctl.threadpool_limits``; the ``sipas`` command and the
papermill kernels get ``OPENBLAS_NUM_THREADS`` / ``OMP_NUM_THREADS`` / ``MKL_NUM_THREADS`` in
their environment.  Each test sets a count different from the one in force outside, so that it
fails when the limit is not applied.
"""

from __future__ import annotations

import inspect

import json
import os

import pytest
from threadpoolctl import threadpool_info, threadpool_limits

from sipas import cli, pipeline, threads
from sipas.errors import ConfigError
from sipas.report import rendering
from sipas.stages import cleaning, indices, reliability, weighting

VARS = (*threads.LIBRARY_VARS, threads.ENV_VAR)


def _blas_counts() -> set[int]:
    return {lib["num_threads"] for lib in threadpool_info() if lib["user_api"] == "blas"}


def test_default_and_setting():
    assert threads.blas_threads(environ={}) == 1
    assert threads.blas_threads(environ={threads.ENV_VAR: " 3 "}) == 3
    assert threads.thread_env(threads=2) == {v: "2" for v in VARS}


@pytest.mark.parametrize("raw", ["0", "-1", "two", "1.5"])
def test_bad_setting_is_a_config_error(raw):
    with pytest.raises(ConfigError, match=f"SIPAS_BLAS_THREADS.*positive integer.*{raw}"):
        threads.blas_threads(environ={threads.ENV_VAR: raw})


@pytest.mark.parametrize("outside, inside", [(2, 1), (1, 2)])
def test_limited_sets_the_blas_threads_and_restores_them(outside, inside, monkeypatch):
    assert _blas_counts(), "numpy's BLAS is not visible to threadpoolctl"
    monkeypatch.setenv(threads.ENV_VAR, str(inside))
    with threadpool_limits(limits=outside, user_api="blas"):
        assert threads.limited(_blas_counts)() == {inside}
        assert _blas_counts() == {outside}


def test_every_stage_runner_is_limited():
    """``sipas.pipeline``'s runners (called by the CLI and the notebooks) are the stage functions
    wrapped by :func:`sipas.threads.limited`."""
    wrapper_code = threads.limited(_blas_counts).__code__
    # the weighting runner calls the survey kind's weighting function (household: stages.weighting)
    stage_functions = {"cleaning": cleaning.run_cleaning, "reliability": reliability.run_reliability,
                       "weighting": pipeline._run_kind_weighting, "indices": indices.run_indices}
    from sipas.kinds import KINDS

    assert KINDS["household"].weighting_function() is weighting.run_weighting
    assert set(pipeline.RUNNERS) == set(pipeline.STAGES) == set(stage_functions)
    for name, runner in pipeline.RUNNERS.items():
        # the stage function, possibly behind the stale-input check (sipas.pipeline._fresh)
        stage = stage_functions[name]
        assert runner.__code__ is wrapper_code, name
        assert inspect.unwrap(runner, stop=lambda f, stage=stage: f is stage) is stage, name
        assert getattr(pipeline, f"run_{name}") is runner
        assert runner.__doc__ == stage_functions[name].__doc__


def test_cli_commands_run_with_the_thread_env(monkeypatch, capsys):
    seen = {}

    def fake_check(args):
        seen.update({v: os.environ.get(v) for v in VARS})
        return 0

    monkeypatch.setattr(cli, "cmd_check", fake_check)
    for v in VARS:
        monkeypatch.delenv(v, raising=False)
    monkeypatch.setenv("OPENBLAS_NUM_THREADS", "7")
    assert cli.main(["check"]) == 0
    assert seen == {v: "1" for v in VARS}
    assert os.environ["OPENBLAS_NUM_THREADS"] == "7" and threads.ENV_VAR not in os.environ  # restored
    monkeypatch.setenv(threads.ENV_VAR, "none")
    assert cli.main(["check"]) == 2
    assert "SIPAS_BLAS_THREADS" in capsys.readouterr().err


def test_run_notebooks_gives_the_kernels_the_thread_env(tmp_path, monkeypatch):
    import papermill as pm

    seen = []
    monkeypatch.setattr(pm, "execute_notebook", lambda *a, **k: seen.append({v: os.environ.get(v) for v in VARS}))
    monkeypatch.setenv(threads.ENV_VAR, "3")
    monkeypatch.delenv("OMP_NUM_THREADS", raising=False)
    rendering.run_notebooks("demo-laichau-2024", root=tmp_path, notebooks=("01_cleaning", "02_reliability"),
                            progress=False, one_kernel=False)
    assert seen == [{v: "3" for v in VARS}] * 2
    assert "OMP_NUM_THREADS" not in os.environ


@pytest.mark.parametrize("n", [1, 2])
def test_a_papermill_kernel_starts_with_the_thread_count(n, tmp_path):
    """A real ``sipas`` kernel started by papermill inside :func:`child_thread_env` reports ``n``
    OpenBLAS threads after importing numpy."""
    import nbformat
    import papermill as pm

    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(
        "import json, numpy\nfrom threadpoolctl import threadpool_info\n"
        "print(json.dumps(sorted({i['num_threads'] for i in threadpool_info() if i['user_api'] == 'blas'})))")]
    nb.metadata["kernelspec"] = {"name": "sipas", "display_name": "Python (sipas)", "language": "python"}
    src, out = tmp_path / "probe.ipynb", tmp_path / "probe.out.ipynb"
    nbformat.write(nb, src)
    km = rendering.ipc_kernel_manager_class()
    with threads.child_thread_env(threads=n):
        pm.execute_notebook(str(src), str(out), kernel_name="sipas", progress_bar=False, cwd=str(tmp_path),
                            **({"kernel_manager_class": km} if km is not None else {}))
    text = nbformat.read(out, as_version=4).cells[0].outputs[0]["text"]
    assert json.loads(text) == [n]
