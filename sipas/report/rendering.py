"""Rendering: the notebook chain in one kernel, HTML with nbconvert, PDF with headless Chromium.

The five notebooks run one after another in a single ``sipas`` kernel (:func:`run_notebooks`):
parameters are injected as papermill does (:func:`papermill.parameterize.parameterize_notebook`) and
the cells executed with nbclient, the kernel's namespace and display options reset between
notebooks, so the chain pays for one kernel start and one import of the package instead of five.
``run_notebooks(..., one_kernel=False)`` runs each notebook in its own kernel with papermill.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import subprocess
import sys
import tempfile
from collections.abc import Callable, Iterator, Mapping
from importlib import resources
from pathlib import Path

from sipas import io as sio
from sipas.config import find_survey, project_root
from sipas.errors import ReportError
from sipas.text.labels import texts
from sipas.threads import child_thread_env

NOTEBOOKS = ("01_cleaning", "02_reliability", "03_weighting", "04_indices", "05_report")


#: Executables tried, in order, for printing the HTML to PDF.
CHROMIUM_NAMES = ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable")


def _kernel_name() -> str:
    return "sipas"


_IPC_KERNEL_MANAGER: type | None = None


def ipc_kernel_manager_class() -> type | None:
    """A jupyter_client ``AsyncKernelManager`` whose kernels use the IPC transport.

    Each kernel gets a private temporary directory (mode 0700) for its connection file and its Unix
    sockets, removed when the kernel's resources are cleaned up.  Over IPC no port is opened and
    ipykernel does not warn "Kernel is running over TCP without encryption" once per notebook.

    Returns
    -------
    type or None
        The class, for ``papermill.execute_notebook(..., kernel_manager_class=...)`` (passed on to
        nbclient's ``NotebookClient``); None where ZeroMQ has no IPC transport (Windows), in which
        case the default TCP kernel manager is used.
    """
    global _IPC_KERNEL_MANAGER
    if _IPC_KERNEL_MANAGER is not None:
        return _IPC_KERNEL_MANAGER
    import zmq

    if os.name == "nt" or not zmq.has("ipc"):
        return None
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        """AsyncKernelManager on IPC sockets in a private temporary directory."""

        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.transport = "ipc"
            # absolute paths: the kernel runs in the project root, the manager in the caller's directory;
            # a short directory keeps the socket paths within the 107-byte limit of Unix sockets
            self._ipc_dir = tempfile.mkdtemp(prefix="sipas-kernel-")
            self.connection_file = os.path.join(self._ipc_dir, "kernel.json")
            self.ip = os.path.join(self._ipc_dir, "ipc")

        async def _async_cleanup_resources(self, restart: bool = False) -> None:
            await super()._async_cleanup_resources(restart=restart)
            if not restart:
                shutil.rmtree(self._ipc_dir, ignore_errors=True)

        cleanup_resources = _async_cleanup_resources

    _IPC_KERNEL_MANAGER = IPCKernelManager
    return IPCKernelManager


@contextlib.contextmanager
def _without_rfc3987_syntax() -> Iterator[None]:
    """Import nbformat/papermill without jsonschema's optional ``rfc3987_syntax`` format checker.

    jsonschema registers an IRI/URI format checker when ``rfc3987_syntax`` is importable, and that
    package builds its Lark grammars at import: 1.4 s of the 1.6 s ``import nbformat`` costs.  Notebook
    validation uses no such format, so the module is hidden while jsonschema is first imported (a
    ``None`` entry in ``sys.modules`` makes its import fail as if it were not installed) and
    importable again afterwards.
    """
    hide = "jsonschema" not in sys.modules and "rfc3987_syntax" not in sys.modules
    if hide:
        sys.modules["rfc3987_syntax"] = None  # type: ignore[assignment]
    try:
        yield
    finally:
        if hide and sys.modules.get("rfc3987_syntax", 0) is None:
            del sys.modules["rfc3987_syntax"]


def _notebook_dir(root: Path) -> Path:
    src = Path(__file__).resolve().parents[2] / "notebooks"
    return src if src.is_dir() else root / "notebooks"


#: Run in the shared kernel between two notebooks: a fresh namespace, default pandas display options and
#: matplotlib rcParams, as in a new kernel (imported modules stay loaded: that is the point).
RESET_CELL = """\
get_ipython().run_line_magic("reset", "-f")
import sys as _sys
if "pandas" in _sys.modules:
    _sys.modules["pandas"].reset_option("display")
if "matplotlib" in _sys.modules:
    _sys.modules["matplotlib"].rcdefaults()
del _sys
"""


def run_notebooks(survey_id: str, *, root: str | Path | None = None, notebooks: tuple[str, ...] = NOTEBOOKS,
                  progress: bool = True, one_kernel: bool = True,
                  before: Mapping[str, Callable[[], None]] | None = None,
                  parameters: Mapping[str, object] | None = None) -> list[Path]:
    """Execute the notebook chain into ``reports/<id>/notebooks``.

    With ``one_kernel`` (default) every notebook runs in the same ``sipas`` kernel, started once
    (nbclient; the parameters ``survey_id`` and ``root`` injected as papermill does, in a cell
    tagged ``injected-parameters``), with :data:`RESET_CELL` run between notebooks; otherwise each
    notebook runs in a kernel of its own (``papermill.execute_notebook``).  The kernels start with
    ``SIPAS_BLAS_THREADS`` BLAS/OpenMP threads (default 1): the variables of
    :func:`sipas.threads.thread_env` are set in their environment, read when numpy is imported.

    Parameters
    ----------
    survey_id : str
        The survey.
    root : path, optional
        Project root (default: found from the working directory).
    notebooks : tuple of str
        Notebook names, in order.
    progress : bool
        Print one line per notebook.
    one_kernel : bool
        One kernel for the chain (default) or one per notebook (papermill).
    before : mapping, optional
        ``{notebook: callable}``: called before that notebook runs (e.g. to wait for the previous
        survey-year's stages, which the indices notebook reads).
    parameters : mapping, optional
        Further parameters injected beside ``survey_id`` and ``root`` (e.g. ``sipas plan``'s ``target``,
        ``reps`` and ``design`` for ``06_planning``).

    Raises
    ------
    ReportError
        When a cell of a notebook fails (``one_kernel``); the notebook is written with its outputs so far.
    """
    root = Path(root) if root else project_root()
    src = _notebook_dir(root)
    outdir = root / "reports" / survey_id / "notebooks"
    outdir.mkdir(parents=True, exist_ok=True)
    params = {"survey_id": survey_id, "root": str(root), **dict(parameters or {})}
    km_class = ipc_kernel_manager_class()
    kernel = {"kernel_manager_class": km_class} if km_class is not None else {}
    before = dict(before or {})
    with _without_rfc3987_syntax():
        import nbformat
        import papermill as pm
    done = []
    with child_thread_env():
        if not one_kernel:
            for i, nb in enumerate(notebooks, 1):
                if nb in before:
                    before[nb]()
                if progress:
                    print(f"[{i}/{len(notebooks)}] {nb} ...", flush=True)
                out = outdir / f"{nb}.ipynb"
                # papermill writes as it goes: into a private file, moved beside the report when complete,
                # so Ctrl-C or a failure never leaves a half-written notebook in place of the previous one
                with tempfile.TemporaryDirectory(prefix=".notebook-", dir=outdir) as tmp:
                    part = Path(tmp) / out.name
                    pm.execute_notebook(str(src / f"{nb}.ipynb"), str(part), parameters=params,
                                        kernel_name=_kernel_name(), progress_bar=False, cwd=str(root), **kernel)
                    if part.exists():
                        os.replace(part, out)
                done.append(out)
            return done
        from nbclient import NotebookClient
        from nbclient.exceptions import CellExecutionError
        from papermill.iorw import load_notebook_node
        from papermill.parameterize import parameterize_notebook

        client = NotebookClient(nbformat.v4.new_notebook(), kernel_name=_kernel_name(), timeout=None,
                                resources={"metadata": {"path": str(root)}}, **kernel)
        with client.setup_kernel():
            info = client.wait_for_reply(client.kc.kernel_info())
            language_info = (info or {}).get("content", {}).get("language_info")
            for i, name in enumerate(notebooks, 1):
                if name in before:
                    before[name]()
                if progress:
                    print(f"[{i}/{len(notebooks)}] {name} ...", flush=True)
                if i > 1:
                    reset = nbformat.v4.new_code_cell(RESET_CELL)
                    client.nb = nbformat.v4.new_notebook(cells=[reset])
                    client.execute_cell(reset, 0)
                nb = parameterize_notebook(load_notebook_node(str(src / f"{name}.ipynb")), params,
                                           kernel_name=_kernel_name(), language="python")
                if language_info:
                    nb.metadata["language_info"] = language_info
                client.nb = nb
                client.reset_execution_trackers()
                out = outdir / f"{name}.ipynb"
                for index, cell in enumerate(nb.cells):
                    try:
                        client.execute_cell(cell, index, execution_count=client.code_cells_executed + 1)
                    except CellExecutionError as exc:
                        sio.atomic_write_text(out, nbformat.writes(nb))
                        raise ReportError(f"notebook {name} failed at cell {index} (see {out}):\n{exc}") from exc
                sio.atomic_write_text(out, nbformat.writes(nb))
                done.append(out)
    return done


def report_css() -> str:
    """The report's screen and print style (``resources/report.css``: A4, tables and figures kept whole)."""
    return (resources.files("sipas") / "resources" / "report.css").read_text(encoding="utf-8")


def to_html(notebook: str | Path, out: str | Path, *, title: str | None = None, lang: str = "vi") -> Path:
    """Convert an executed notebook to HTML with no code cells and no prompts.

    Adds the report style (:func:`report_css`), the document language and title, and
    removes scripts that load from the network (require.js, MathJax, mermaid: the report
    has no widgets, typeset formulas or diagrams), so the file reads and prints offline.
    """
    with _without_rfc3987_syntax():
        import nbformat
        from nbconvert import HTMLExporter

    nb = nbformat.read(str(notebook), as_version=4)
    exporter = HTMLExporter(template_name="lab")
    exporter.exclude_input = True
    exporter.exclude_input_prompt = True
    exporter.exclude_output_prompt = True
    body, _ = exporter.from_notebook_node(nb, resources={"metadata": {"name": title or Path(notebook).stem}})
    body = re.sub(r'<script[^>]*src="https?://[^"]*"[^>]*>\s*</script>\s*', "", body)
    body = re.sub(r"<script\b[^>]*>(?:(?!</script>).)*?(?:MathJax|https?://)(?:(?!</script>).)*</script>\s*", "",
                  body, flags=re.S)
    body = re.sub(r"<html(\s[^>]*)?>", f'<html lang="{lang}">', body, count=1)
    body = body.replace("</head>", f'<style type="text/css">\n{report_css()}\n</style>\n</head>', 1)
    body = body.replace("<body", '<body data-sipas-report="1"', 1)
    return sio.atomic_write_text(out, body)


def find_chromium() -> str | None:
    """Path of a headless-capable Chromium (``SIPAS_CHROMIUM`` or :data:`CHROMIUM_NAMES` on PATH)."""
    env = os.environ.get("SIPAS_CHROMIUM")
    if env:
        return env if Path(env).is_file() else shutil.which(env)
    for name in CHROMIUM_NAMES:
        p = shutil.which(name)
        if p:
            return p
    return None


def chromium_args(chromium: str, user_data_dir: str | Path) -> list[str]:
    """Command line of headless Chromium without network, GPU, first-run or sync activity."""
    return [chromium, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
            "--disable-background-networking", "--disable-component-update", "--disable-sync",
            "--disable-dev-shm-usage", f"--user-data-dir={user_data_dir}"]


def to_pdf(html_path: str | Path, pdf_path: str | Path, *, chromium: str | None = None,
           timeout: float = 300) -> Path:
    """Print the HTML report to PDF with headless Chromium (A4 from the print CSS, no header/footer).

    Raises
    ------
    ReportError
        When Chromium is not found, fails, times out or writes no PDF.
    """
    chromium = chromium or find_chromium()
    if not chromium:
        raise ReportError("headless Chromium not found (install chromium or set SIPAS_CHROMIUM)")
    html_path = Path(html_path).resolve()
    pdf_path = Path(pdf_path)
    pdf_path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(prefix="sipas-chromium-") as tmp:
        tmp_pdf = Path(tmp) / "report.pdf"
        cmd = chromium_args(chromium, Path(tmp) / "profile") + [
            f"--print-to-pdf={tmp_pdf}", "--no-pdf-header-footer", html_path.as_uri()]
        try:
            res = subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)
        except subprocess.TimeoutExpired as exc:
            raise ReportError(f"Chromium did not print {html_path} within {timeout:.0f} s") from exc
        if res.returncode != 0 or not tmp_pdf.is_file() or tmp_pdf.stat().st_size == 0:
            tail = (res.stderr or "").strip().splitlines()[-3:]
            raise ReportError(f"Chromium failed to print {html_path} (exit {res.returncode}): {' | '.join(tail)}")
        return sio.atomic_write_bytes(pdf_path, tmp_pdf.read_bytes())


def render(survey_id: str, *, root: str | Path | None = None, progress: bool = True,
           pdf: bool = True, one_kernel: bool = True,
           before: Mapping[str, Callable[[], None]] | None = None) -> Path:
    """Run the whole chain for ``survey_id``: ``reports/<id>/report.html`` and, with Chromium, ``report.pdf``.

    When Chromium is not installed the PDF is skipped with one printed line; the HTML is
    still written.  ``pdf=False`` skips the PDF (``sipas report --no-pdf``, ``make report PDF=no``);
    ``one_kernel`` and ``before`` go to :func:`run_notebooks`.
    """
    root = Path(root) if root else project_root()
    cfg = find_survey(survey_id, root=root)
    t = texts()
    title = t["title"].get(cfg.language, t["title"]["vi"]).format(year=cfg.year)
    nbs = run_notebooks(survey_id, root=root, progress=progress, one_kernel=one_kernel, before=before)
    out = to_html(nbs[-1], root / "reports" / survey_id / "report.html", title=title, lang=cfg.language)
    if progress:
        print(f"report: {out}", flush=True)
    if pdf:
        chromium = find_chromium()
        if chromium is None:
            print("report: PDF skipped — headless Chromium not found (install chromium or set SIPAS_CHROMIUM)",
                  flush=True)
        else:
            p = to_pdf(out, out.with_suffix(".pdf"), chromium=chromium)
            if progress:
                print(f"report: {p}", flush=True)
    return out
