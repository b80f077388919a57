"""How runbooks are executed: the pre-warmed kernel, its private socket folder, and the
papermill engine that saves the output notebook less often than papermill does."""

from __future__ import annotations

from pathlib import Path

import nbformat
import papermill.engines
import pytest
from papermill.exceptions import PapermillExecutionError

from runbooks_lib import papermill_engine
from runbooks_lib.runner import Runbook, SharedKernel, execute


def write_runbook(path: Path, *sources: str) -> Runbook:
    cells = [nbformat.v4.new_markdown_cell("# A test runbook"),
             nbformat.v4.new_code_cell('source = "staging-incident"', metadata={"tags": ["parameters"]})]
    for source in sources:
        cells += [nbformat.v4.new_markdown_cell("A step."), nbformat.v4.new_code_cell(source)]
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, str(path))
    return Runbook(path.stem, path, "A test runbook", "")


def outputs(path: Path) -> list[str]:
    notebook = nbformat.read(str(path), as_version=4)
    return ["".join(out.get("text", "")) + "".join(out.get("data", {}).get("text/plain", ""))
            for cell in notebook.cells if cell.cell_type == "code" for out in cell.outputs]


def execution_counts(path: Path) -> list[int]:
    return [cell.execution_count for cell in nbformat.read(str(path), 4).cells if cell.cell_type == "code"]


@pytest.fixture(scope="module")
def kernel():
    with SharedKernel() as shared:
        yield shared


def test_the_warm_up_imports_the_library_but_leaves_the_namespace_as_a_fresh_kernel_has_it(kernel, tmp_path):
    book = write_runbook(tmp_path / "probe.ipynb",
                         "import sys\nprint('runbooks_lib.registry' in sys.modules, 'pandas' in sys.modules)",
                         "print(sorted(name for name in globals() if not name.startswith('_')))")
    execute(book, str(tmp_path / "warm.ipynb"), {}, progress=False, html=False, kernel=kernel)
    with SharedKernel(warm_up=False) as cold:
        execute(book, str(tmp_path / "cold.ipynb"), {}, progress=False, html=False, kernel=cold)
    warm_imported, warm_namespace = outputs(tmp_path / "warm.ipynb")
    cold_imported, cold_namespace = outputs(tmp_path / "cold.ipynb")
    assert warm_imported.strip() == "True True", "the first cell ran after the warm-up's imports"
    assert cold_imported.strip() == "False False"
    assert warm_namespace == cold_namespace, "the warm-up bound nothing in the user namespace"
    assert execution_counts(tmp_path / "warm.ipynb") == execution_counts(tmp_path / "cold.ipynb") == [1, 2, 3], \
        "the silent warm-up took no execution count"


def test_a_kernel_removes_its_socket_folder_when_closed():
    shared = SharedKernel(warm_up=False)
    folder = Path(shared.manager.ip).parent  # the IPC socket path inside the kernel's own folder
    assert folder.name.startswith("runbooks-kernel-") and folder.is_dir()
    shared.close()
    assert not folder.exists()
    shared.close()  # closing twice is harmless


def count_writes(monkeypatch) -> list[str]:
    written: list[str] = []
    real = papermill.engines.write_ipynb

    def recording(nb, path):
        written.append(path)
        return real(nb, path)

    monkeypatch.setattr(papermill.engines, "write_ipynb", recording)
    return written


def test_cell_boundaries_save_at_most_once_per_interval(kernel, tmp_path, monkeypatch):
    book = write_runbook(tmp_path / "three.ipynb", "print(1)", "print(2)", "print(3)")
    written = count_writes(monkeypatch)
    monkeypatch.setattr(papermill_engine, "SAVE_INTERVAL", 3600.0)
    execute(book, str(tmp_path / "sparse.ipynb"), {}, progress=False, html=False, kernel=kernel)
    assert len(written) == 2, "only the start and the end save within the interval"
    assert outputs(tmp_path / "sparse.ipynb") == ["1\n", "2\n", "3\n"], "the final save has every output"

    written.clear()
    monkeypatch.setattr(papermill_engine, "SAVE_INTERVAL", 0.0)
    execute(book, str(tmp_path / "every.ipynb"), {}, progress=False, html=False, kernel=kernel)
    cells = len(nbformat.read(str(tmp_path / "every.ipynb"), 4).cells)
    assert len(written) == 2 + 2 * cells, "with no interval every cell boundary saves, as papermill does"


def test_a_failing_cell_still_leaves_the_notebook_saved_up_to_the_error(kernel, tmp_path, monkeypatch):
    monkeypatch.setattr(papermill_engine, "SAVE_INTERVAL", 3600.0)
    book = write_runbook(tmp_path / "broken.ipynb", "print('before')", "raise ValueError('broken on purpose')",
                         "print('never')")
    with pytest.raises(PapermillExecutionError):
        execute(book, str(tmp_path / "broken-out.ipynb"), {}, progress=False, html=False, kernel=kernel)
    notebook = nbformat.read(str(tmp_path / "broken-out.ipynb"), 4)
    texts = outputs(tmp_path / "broken-out.ipynb")
    assert texts[0] == "before\n" and "never\n" not in texts
    assert any(out.get("ename") == "ValueError" for cell in notebook.cells if cell.cell_type == "code"
               for out in cell.outputs)
    assert notebook.metadata.papermill["exception"] is True
