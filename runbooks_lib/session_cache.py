"""Within one notebook kernel, a source is loaded once and each detector runs once on it.

The audit runs up to seven runbooks in one kernel, and each begins with the same
``open_source`` and a ``detect``: on a 10k-pod snapshot that was a load, the frames and the
detectors paid seven times. A person stepping through a runbook re-runs cells too.

What keeps it correct:
- only local sources are cached (a snapshot, manifests, a file, a bundled example), never a
  live cluster, whose state changes;
- the key holds everything the load depends on: the source, namespace, reference time,
  whether redaction is on, and each file's size and modification time, so an edited manifest
  or a re-captured snapshot is loaded again;
- one state is kept (the last); detection results are kept per state object, while it lives.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import TYPE_CHECKING, Callable, Iterable

from .state import once_per_state

if TYPE_CHECKING:
    from .registry import DetectionResult
    from .state import ClusterState

_last_load: tuple[tuple, "ClusterState"] | None = None


def files_signature(path: Path) -> tuple:
    """Every file under ``path`` (or ``path`` itself) with its size and modification time."""
    if path.is_file():
        stat = path.stat()
        return ((path.name, stat.st_size, stat.st_mtime_ns),)
    entries = []
    for folder, dirs, files in os.walk(path):
        dirs.sort()
        for name in sorted(files):
            full = os.path.join(folder, name)
            try:
                stat = os.stat(full)
            except OSError:
                continue  # vanished while walking: the loader will say so if it matters
            entries.append((os.path.relpath(full, path), stat.st_size, stat.st_mtime_ns))
    return tuple(entries)


def load_once(load: Callable[[], "ClusterState"], source_path: Path, *key_parts) -> "ClusterState":
    """``load()``'s state, reused while the key and the files under ``source_path`` are unchanged."""
    global _last_load
    key = (str(source_path.resolve()), *key_parts, files_signature(source_path))
    if _last_load is not None and _last_load[0] == key:
        return _last_load[1]
    _last_load = None  # the old state can go before the new one is built
    state = load()
    _last_load = (key, state)
    return state


def detect_once(state: "ClusterState", rules: Iterable[str] | None,
                run: Callable[["ClusterState", list[str]], "DetectionResult"],
                known_rules: list[str]) -> "DetectionResult":
    """The findings of ``rules`` (all known rules when None) on ``state``; each rule runs once per state."""
    from .registry import DetectionResult, sort_key

    done: dict[str, DetectionResult] = once_per_state(state, detect_once, dict)
    asked = None if rules is None else set(rules)
    wanted = [rule_id for rule_id in known_rules if asked is None or rule_id in asked]
    missing = [rule_id for rule_id in wanted if rule_id not in done]
    if missing:
        result = run(state, missing)
        for rule_id in missing:
            done[rule_id] = _one_rule(result, rule_id)
    parts = [done[rule_id] for rule_id in wanted]
    return DetectionResult(findings=sorted((f for part in parts for f in part.findings), key=sort_key),
                           rules_run=[r for part in parts for r in part.rules_run],
                           rules_skipped={r: why for part in parts for r, why in part.rules_skipped.items()},
                           errors=[e for part in parts for e in part.errors])


def _one_rule(result: "DetectionResult", rule_id: str) -> "DetectionResult":
    from .registry import INTERNAL_ERROR_RULE, DetectionResult

    findings = [f for f in result.findings
                if f.rule == rule_id or (f.rule == INTERNAL_ERROR_RULE and f.name == rule_id)]
    return DetectionResult(findings=findings, rules_run=[r for r in result.rules_run if r == rule_id],
                           rules_skipped={r: why for r, why in result.rules_skipped.items() if r == rule_id},
                           errors=[e for e in result.errors if e.split(":", 1)[0] == rule_id])


def clear() -> None:
    """Forget the cached state, so the next ``load_once`` loads again (tests; or to force a reload)."""
    global _last_load
    _last_load = None
