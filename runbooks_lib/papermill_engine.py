"""The papermill engine runbooks execute with: nbclient's, saving the notebook less often.

papermill writes the whole output notebook (plots included) before and after every cell,
markdown cells too: ~40 writes for the triage runbook, each between two cells, while the
kernel waits. On a big cluster the notebook is megabytes and those writes dominate. Here a
cell boundary saves only when the last save is older than ``SAVE_INTERVAL`` seconds, so a
long run still shows its progress on disk; the start and the end (papermill's ``finally``,
failures included) always save, so the notebook on disk is complete when execution stops.
"""

from __future__ import annotations

from contextlib import contextmanager

from papermill.engines import NBClientEngine, NotebookExecutionManager, papermill_engines

ENGINE_NAME = "runbooks"
SAVE_INTERVAL = 5.0  # seconds


class SparseSaveManager(NotebookExecutionManager):
    """papermill's execution manager, with cell-boundary saves throttled to one per SAVE_INTERVAL."""

    _at_cell_boundary = False

    @contextmanager
    def _cell_boundary(self):
        self._at_cell_boundary = True
        try:
            yield
        finally:
            self._at_cell_boundary = False

    def cell_start(self, cell, cell_index=None, **kwargs):
        with self._cell_boundary():
            super().cell_start(cell, cell_index, **kwargs)

    def cell_complete(self, cell, cell_index=None, **kwargs):
        with self._cell_boundary():
            super().cell_complete(cell, cell_index, **kwargs)

    def save(self, **kwargs):
        if self._at_cell_boundary and self._saved_within(SAVE_INTERVAL):
            return
        super().save(**kwargs)

    def _saved_within(self, seconds: float) -> bool:
        last = getattr(self, "last_save_time", None)
        return last is not None and (self.now() - last).total_seconds() < seconds


class RunbooksEngine(NBClientEngine):
    """NBClientEngine with SparseSaveManager; everything else (kernel, timeouts, errors) is nbclient's."""

    @classmethod
    def execute_notebook(cls, nb, kernel_name, output_path=None, progress_bar=True, log_output=False,
                         autosave_cell_every=30, **kwargs):
        manager = SparseSaveManager(nb, output_path=output_path, progress_bar=progress_bar,
                                    log_output=log_output, autosave_cell_every=autosave_cell_every)
        manager.notebook_start()
        try:
            cls.execute_managed_notebook(manager, kernel_name, log_output=log_output, **kwargs)
        finally:
            manager.cleanup_pbar()
            manager.notebook_complete()
        return manager.nb


def register() -> str:
    """Register the engine with papermill (idempotent) and return its name."""
    papermill_engines.register(ENGINE_NAME, RunbooksEngine)
    return ENGINE_NAME
