"""Running runbooks: listing them, executing them with papermill, exporting HTML, opening them.

papermill is imported inside the functions: ``runbooks findings`` must start fast
and never pays for it.
"""

from __future__ import annotations

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
            timeout: int | None = None, html: bool = True, kernel=None) -> RunResult:
    """Execute through papermill's Python API; write ``output`` and an HTML copy without inputs.

    ``output`` is handed to papermill as is, so its IO handlers (s3://, gs://, abs://)
    work when installed. The HTML copy is written only for local paths.
    """
    import papermill

    progress = sys.stderr.isatty() if progress is None else progress
    if _is_local(output):
        Path(output).parent.mkdir(parents=True, exist_ok=True)
    kernel_option = {"km": kernel} if kernel is not None else _kernel_manager_option()
    papermill.execute_notebook(str(book.path), output, parameters=parameters, kernel_name=KERNEL_NAME,
                               progress_bar=progress, log_output=False, execution_timeout=timeout,
                               report_mode=False, **kernel_option)
    html_path = None
    if html and _is_local(output):
        html_path = str(Path(output).with_suffix(".html"))
        export_html(Path(output), Path(html_path))
    return RunResult(output, html_path)


def export_html(notebook: Path, target: Path) -> None:
    """HTML for people: outputs only, no code cells."""
    import nbformat
    from nbconvert import HTMLExporter

    exporter = HTMLExporter(exclude_input=True, exclude_input_prompt=True, exclude_output_prompt=True)
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


class SharedKernel:
    """One kernel for a series of runbooks (the audit's): the start-up and imports are paid once.

    Every runbook assigns all it uses in its own cells, so state left by the previous
    one does not leak into its results. After a failure the kernel is restarted,
    since a timed-out cell may still be running.
    """

    def __init__(self) -> None:
        self.manager = self._start()

    @staticmethod
    def _start():
        # The async manager: with the blocking one, nbclient's per-cell timeout is never applied.
        from jupyter_client.manager import AsyncKernelManager
        from jupyter_client.utils import run_sync

        options = {"transport": "ipc", "ip": os.path.join(tempfile.mkdtemp(prefix="runbooks-kernel-"), "kernel")} \
            if sys.platform != "win32" else {}
        manager = AsyncKernelManager(kernel_name=KERNEL_NAME, **options)
        run_sync(manager.start_kernel)()
        return manager

    def restart(self) -> None:
        """A new kernel under a new manager: the old one's sockets may be closed already."""
        self.close()
        self.manager = self._start()

    def close(self) -> None:
        from jupyter_client.utils import run_sync

        try:
            if self.manager.has_kernel:
                run_sync(self.manager.shutdown_kernel)(now=True)
        except Exception:
            pass  # a dead or half-closed kernel is what we are replacing

    def __enter__(self) -> "SharedKernel":
        return self

    def __exit__(self, *exc) -> None:
        self.close()


def _kernel_manager_option() -> dict:
    """Local kernels talk over IPC sockets in a private temp dir: nothing listens on TCP,
    and ipykernel does not warn about unencrypted TCP on every run."""
    if sys.platform == "win32":
        return {}
    from jupyter_client.manager import AsyncKernelManager

    class IPCKernelManager(AsyncKernelManager):
        def __init__(self, **kwargs):
            kwargs.setdefault("transport", "ipc")
            kwargs.setdefault("ip", os.path.join(tempfile.mkdtemp(prefix="runbooks-kernel-"), "kernel"))
            super().__init__(**kwargs)

    return {"kernel_manager_class": IPCKernelManager}


def _is_local(path: str) -> bool:
    return "://" not in path
