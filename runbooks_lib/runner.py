"""Running runbooks: listing them, executing them with papermill, exporting HTML, opening them.

papermill is imported inside the functions: ``runbooks findings`` must start fast
and never pays for it.
"""

from __future__ import annotations

import functools
import json
import os
import shutil
import subprocess
import sys
import tempfile
import warnings
from dataclasses import dataclass
from pathlib import Path

from .errors import InputError
from .resources import notebooks_dir

KERNEL_NAME = "python3"


@dataclass(frozen=True)
class Runbook:
    name: str
    path: Path
    title: str
    summary: str


@dataclass(frozen=True)
class Parameter:
    name: str
    type: str
    default: str
    help: str


RUNBOOKS_PATH_ENV = "RUNBOOKS_PATH"  # extra folders of a team's own runbooks, separated by os.pathsep


def runbooks() -> list[Runbook]:
    """The bundled runbooks, then those in $RUNBOOKS_PATH folders (a later one of the same name wins)."""
    folders = [notebooks_dir()] + [Path(p) for p in os.environ.get(RUNBOOKS_PATH_ENV, "").split(os.pathsep) if p]
    found: dict[str, Runbook] = {}
    for folder in folders:
        for path in sorted(folder.glob("*.ipynb")):
            title, summary = _title_and_summary(path)
            found[path.stem] = Runbook(path.stem, path, title, summary)
    return list(found.values())


def runbook(name: str) -> Runbook:
    name = name.removesuffix(".ipynb")
    for candidate in runbooks():
        if candidate.name == name:
            return candidate
    raise InputError(f"unknown runbook {name!r}; available: {', '.join(r.name for r in runbooks())}")


def parameters(book: Runbook) -> list[Parameter]:
    import papermill

    inspected = papermill.inspect_notebook(str(book.path))
    return [Parameter(name, _type_name(info.get("inferred_type_name")), info.get("default") or "", info.get("help") or "")
            for name, info in inspected.items()]


def _type_name(inferred: str | None) -> str:
    return inferred if inferred and inferred != "None" else "str"


def coerce_parameters(book: Runbook, raw: list[tuple[str, str]]) -> dict:
    """``-p NAME VALUE`` pairs typed after the notebook's defaults; unknown names are an error."""
    known = {p.name: p for p in parameters(book)}
    values: dict = {}
    for name, value in raw:
        if name not in known:
            raise InputError(f"runbook {book.name} has no parameter {name!r}; it takes: {', '.join(known)}")
        kind = known[name].type
        if kind == "int":
            try:
                values[name] = int(value)
            except ValueError:
                raise InputError(f"parameter {name} must be an integer, got {value!r}") from None
        elif kind == "bool":
            values[name] = value.lower() in ("1", "true", "yes", "on")
        else:
            values[name] = value
    return values


def _title_and_summary(path: Path) -> tuple[str, str]:
    try:
        cells = json.loads(path.read_text(encoding="utf-8")).get("cells", [])
    except (OSError, ValueError):
        return path.stem, ""
    for cell in cells:
        if cell.get("cell_type") == "markdown":
            lines = [line.strip() for line in "".join(cell.get("source", "")).splitlines() if line.strip()]
            if lines:
                title = lines[0].lstrip("# ").strip()
                summary = next((line for line in lines[1:] if not line.startswith("#")), "")
                return title, summary.replace("**", "").replace("`", "")
    return path.stem, ""


@dataclass(frozen=True)
class RunResult:
    notebook: str
    html: str | None


def execute(book: Runbook, output: str, parameters: dict, progress: bool | None = None,
            timeout: int | None = None, html: bool = True, kernel: "SharedKernel | None" = None) -> RunResult:
    """Execute through papermill's Python API; write ``output`` and an HTML copy without inputs.

    ``output`` is handed to papermill as is, so its IO handlers (s3://, gs://, abs://)
    work when installed. The HTML copy is written only for local paths.

    Without ``kernel`` one is started for this runbook and shut down after. Start it
    yourself (``SharedKernel()``) before other slow work to overlap its boot with that work.
    """
    if kernel is None:
        with SharedKernel() as own:
            return execute(book, output, parameters, progress, timeout, html, own)
    import papermill

    from .papermill_engine import register as register_engine

    progress = sys.stderr.isatty() if progress is None else progress
    local = _is_local(output)
    if local:
        Path(output).parent.mkdir(parents=True, exist_ok=True)
    write_html = html and local
    if write_html:
        html_exporter()  # template compiled now, while the kernel is still starting
    papermill.execute_notebook(str(book.path), output, parameters=parameters, kernel_name=KERNEL_NAME,
                               progress_bar=progress, log_output=False, execution_timeout=timeout,
                               report_mode=False, km=kernel.manager, engine_name=register_engine())
    html_path = None
    if write_html:
        html_path = str(Path(output).with_suffix(".html"))
        export_html(Path(output), Path(html_path))
    return RunResult(output, html_path)


@functools.cache
def html_exporter():
    """The HTML exporter, its template compiled: the first export pays ~0.5 s for that, so it is
    done once per process (and, in ``execute``, while the kernel is still busy starting)."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
    exporter.from_notebook_node(nbformat.v4.new_notebook())
    return exporter


def export_html(notebook: Path, target: Path) -> None:
    """HTML for people: outputs only, no code cells."""
    import nbformat

    exporter = html_exporter()
    with warnings.catch_warnings():
        # scrapbook's data-only outputs have no visual form; nbconvert warns about each one.
        warnings.filterwarnings("ignore", message=".*is not able to be represented.*")
        body, _ = exporter.from_notebook_node(nbformat.read(str(notebook), as_version=4))
    target.write_text(body, encoding="utf-8")


def prepare(book: Runbook, output: Path, parameters: dict) -> Path:
    """A parameterized copy, not executed (papermill's prepare-only mode), ready to step through."""
    import papermill

    import nbformat

    output.parent.mkdir(parents=True, exist_ok=True)
    papermill.execute_notebook(str(book.path), str(output), parameters=parameters, prepare_only=True,
                               kernel_name=KERNEL_NAME, progress_bar=False)
    # The bundled runbooks carry the example's outputs (for nbval); a working copy starts clean.
    notebook = nbformat.read(str(output), as_version=4)
    for cell in notebook.cells:
        if cell.cell_type == "code":
            cell.outputs, cell.execution_count = [], None
    nbformat.write(notebook, str(output))
    return output


def open_in_jupyterlab(notebook: Path) -> int:
    jupyter = shutil.which("jupyter") or str(Path(sys.executable).with_name("jupyter"))
    if not Path(jupyter).exists():
        raise InputError("jupyter is not on PATH: install jupyterlab (pip install jupyterlab) to open runbooks")
    return subprocess.call([jupyter, "lab", str(notebook)], cwd=str(notebook.parent), env=os.environ.copy())


# Sent to a new kernel, silently, as soon as it starts: the imports every runbook begins with
# (pandas, matplotlib, the detectors) then run while papermill and nbconvert load in this
# process, on the other core, instead of in the first cell. Nothing is bound in the user
# namespace, so the notebooks run exactly as they would in a fresh kernel.
KERNEL_WARM_UP = """
def _runbooks_warm_up():
    try:
        import runbooks_lib.notebook, runbooks_lib.plots, runbooks_lib.registry
        runbooks_lib.registry.load_detectors()
    except Exception:
        pass  # the runbook's own first cell reports what is missing
_runbooks_warm_up()
del _runbooks_warm_up
"""


class SharedKernel:
    """A kernel for one runbook or a series of them (the audit's): the start-up and imports are paid once.

    Every runbook assigns all it uses in its own cells, so state left by the previous
    one does not leak into its results. After a failure the kernel is restarted,
    since a timed-out cell may still be running.

    Local kernels talk over IPC sockets in a private temp dir, removed on close: nothing
    listens on TCP, and ipykernel does not warn about unencrypted TCP on every run.
    """

    def __init__(self, warm_up: bool = True) -> None:
        self.warm_up = warm_up
        self._socket_dir: str | None = None
        self._warm_up_client = None
        self.manager = self._start()

    def _start(self):
        # The async manager: with the blocking one, nbclient's per-cell timeout is never applied.
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_client.utils import run_sync

        options = {}
        if sys.platform != "win32":
            self._socket_dir = tempfile.mkdtemp(prefix="runbooks-kernel-")
            options = {"transport": "ipc", "ip": os.path.join(self._socket_dir, "kernel")}
        manager = AsyncKernelManager(kernel_name=KERNEL_NAME, **options)
        run_sync(manager.start_kernel)()
        if self.warm_up:
            self._warm_up_client = _send_silently(manager, KERNEL_WARM_UP)
        return manager

    def restart(self) -> None:
        """A new kernel under a new manager: the old one's sockets may be closed already."""
        self.close()
        self.manager = self._start()

    def close(self) -> None:
        from jupyter_client.utils import run_sync

        if self._warm_up_client is not None:
            self._warm_up_client.stop_channels()
            self._warm_up_client = None
        try:
            if self.manager.has_kernel:
                run_sync(self.manager.shutdown_kernel)(now=True)
        except Exception:
            pass  # a dead or half-closed kernel is what we are replacing
        if self._socket_dir is not None:
            shutil.rmtree(self._socket_dir, ignore_errors=True)
            self._socket_dir = None

    def __enter__(self) -> "SharedKernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _send_silently(manager, code: str):
    """Queue ``code`` on the kernel without waiting: the kernel runs requests in order, so the
    runbook's first cell starts after it. Silent: no output, no history, no execution count.
    Returns the client, to be closed with the kernel: closing it now could drop the unsent request."""
    client = manager.blocking_client()
    client.start_channels(iopub=False, stdin=False, hb=False, control=False)
    client.execute(code, silent=True, store_history=False)
    return client


def _is_local(path: str) -> bool:
    return "://" not in path
