"""How many BLAS/OpenMP threads the analysis uses: ``SIPAS_BLAS_THREADS`` (default 1).

The pipeline's matrix products are small (tens of items, hundreds of respondents, a few hundred
replicate weights).  On a shared two-core machine OpenBLAS's second thread buys nothing and, when
the other cores are busy, costs much: with 2 threads instead of 1 the demo's indices stage took
1.4-2.6x as long and the reliability stage (CFA) 3.8-5.4x (one or two other busy processes; the
weighting stage the same; idle, 1 thread was as fast or faster), and a loaded CI machine spent 65 %
of the indices stage in thread synchronisation (issue 13).  sipas therefore chooses the thread
count itself:

* every stage runs under :func:`limit_threads` (``sipas.pipeline`` wraps the stage runners, so the
  CLI, the notebooks and the tests get the same limit), which sets the thread count of the BLAS
  and OpenMP libraries already loaded (``threadpoolctl.threadpool_limits``);
* processes sipas starts (the ``sipas`` command itself and the papermill kernels of the notebooks)
  get ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS`` and ``MKL_NUM_THREADS`` in their environment
  (:func:`thread_env`), which the libraries read when numpy is first imported.

``SIPAS_BLAS_THREADS`` overrides these three variables.  The thread count changes the last bits of
results whose products OpenBLAS splits between threads (the demo's indices, standard errors and
intervals by up to 2.4e-14 between 1 and 2 threads; ranks unchanged).  Fixing it makes
``data/processed`` byte-identical across machines: OpenBLAS's own default is the number of cores.
"""

from __future__ import annotations

import functools
import os
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import ParamSpec, TypeVar

from sipas.errors import ConfigError

#: The environment variable that sets the thread count.
ENV_VAR = "SIPAS_BLAS_THREADS"
#: The thread count when ``SIPAS_BLAS_THREADS`` is unset.
DEFAULT_THREADS = 1
#: Variables the BLAS/OpenMP libraries read at load time, set for processes sipas starts.
LIBRARY_VARS = ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS")

P = ParamSpec("P")
R = TypeVar("R")


def blas_threads(*, environ: Mapping[str, str] | None = None) -> int:
    """The configured thread count: ``SIPAS_BLAS_THREADS``, else :data:`DEFAULT_THREADS`.

    Parameters
    ----------
    environ : mapping, optional
        Environment to read (default ``os.environ``).

    Returns
    -------
    int
        A positive thread count.

    Raises
    ------
    ConfigError
        When the variable is set to anything but a positive integer.
    """
    env = os.environ if environ is None else environ
    raw = env.get(ENV_VAR, "").strip()
    if not raw:
        return DEFAULT_THREADS
    try:
        n = int(raw)
    except ValueError:
        n = 0
    if n < 1:
        raise ConfigError(f"must be a positive integer (number of BLAS threads), got {raw!r}", key=ENV_VAR)
    return n


def thread_env(*, threads: int | None = None) -> dict[str, str]:
    """Environment variables that give a new process ``threads`` BLAS/OpenMP threads.

    ``OPENBLAS_NUM_THREADS``, ``OMP_NUM_THREADS``, ``MKL_NUM_THREADS`` and ``SIPAS_BLAS_THREADS``
    itself (so that sipas in the child uses the same count); ``threads=None`` takes
    :func:`blas_threads`.
    """
    n = blas_threads() if threads is None else threads
    return {name: str(n) for name in (*LIBRARY_VARS, ENV_VAR)}


@contextmanager
def child_thread_env(*, threads: int | None = None) -> Iterator[int]:
    """Set :func:`thread_env` in ``os.environ`` for the processes started inside the block.

    Child processes (papermill's kernels) inherit the variables and read them when they import
    numpy; the current process's libraries are already loaded and unaffected (see
    :func:`limit_threads`).  The previous values are restored on exit.

    Yields
    ------
    int
        The thread count.
    """
    new = thread_env(threads=threads)
    old = {k: os.environ.get(k) for k in new}
    os.environ.update(new)
    try:
        yield int(new[ENV_VAR])
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v


@contextmanager
def limit_threads(*, threads: int | None = None) -> Iterator[int]:
    """Run the block with ``threads`` threads in every BLAS and OpenMP library loaded now.

    ``threadpoolctl.threadpool_limits(limits=threads)``; the previous counts are restored on
    exit.  ``threads=None`` takes :func:`blas_threads`.

    Yields
    ------
    int
        The thread count.
    """
    from threadpoolctl import threadpool_limits

    n = blas_threads() if threads is None else threads
    with threadpool_limits(limits=n):
        yield n


def limited(func: Callable[P, R]) -> Callable[P, R]:
    """``func`` run under :func:`limit_threads` (the count read at each call)."""

    @functools.wraps(func)
    def run(*args: P.args, **kwargs: P.kwargs) -> R:
        with limit_threads():
            return func(*args, **kwargs)

    return run
