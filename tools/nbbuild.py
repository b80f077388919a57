"""Write the runbook notebooks from their cell lists, and re-execute them for nbval.

Notebooks are the product, but keeping their source here as plain Python makes
review and refactoring easy. Usage:

    python tools/nbbuild.py            # write notebooks/*.ipynb from tools/runbooks/*.py
    python tools/nbbuild.py --execute  # ...then execute each in place on the bundled example

The committed notebooks carry the outputs nbval compares against.
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

import nbformat

ROOT = Path(__file__).resolve().parent.parent
SOURCES = ROOT / "tools" / "runbooks"
NOTEBOOKS = ROOT / "notebooks"
KERNELSPEC = {"name": "python3", "display_name": "Python 3 (ipykernel)", "language": "python"}


def md(text: str) -> nbformat.NotebookNode:
    return nbformat.v4.new_markdown_cell(text.strip("\n"))


def code(text: str, parameters: bool = False) -> nbformat.NotebookNode:
    cell = nbformat.v4.new_code_cell(text.strip("\n"))
    if parameters:
        cell.metadata["tags"] = ["parameters"]
    return cell


def build(name: str, cells: list) -> Path:
    notebook = nbformat.v4.new_notebook(cells=cells)
    notebook.metadata["kernelspec"] = KERNELSPEC
    notebook.metadata["language_info"] = {"name": "python"}
    for index, cell in enumerate(notebook.cells):
        cell["id"] = f"{name}-{index:02d}"  # stable ids keep diffs small
    path = NOTEBOOKS / f"{name}.ipynb"
    nbformat.write(notebook, str(path))
    return path


def execute(path: Path) -> None:
    import papermill

    papermill.execute_notebook(str(path), str(path), kernel_name="python3", progress_bar=False, cwd=str(ROOT))
    # papermill records timings and versions in metadata; strip what changes on every run.
    notebook = nbformat.read(str(path), as_version=4)
    notebook.metadata.pop("papermill", None)
    for cell in notebook.cells:
        cell.metadata.pop("papermill", None)
        cell.metadata.pop("execution", None)
    nbformat.write(notebook, str(path))


def main() -> int:
    parser = argparse.ArgumentParser()
    parser.add_argument("--execute", action="store_true")
    parser.add_argument("names", nargs="*")
    args = parser.parse_args()
    sys.path.insert(0, str(ROOT / "tools"))
    sys.path.insert(0, str(SOURCES))
    for source in sorted(SOURCES.glob("[!_]*.py")):
        if args.names and source.stem not in args.names and source.stem.replace("_", "-") not in args.names:
            continue
        spec = importlib.util.spec_from_file_location(source.stem, source)
        module = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(module)
        path = build(module.NAME, module.cells())
        print(f"wrote {path.relative_to(ROOT)}")
        if args.execute:
            execute(path)
            print(f"executed {path.relative_to(ROOT)}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
