"""Container logs in the layout ``kubectl cluster-info dump`` writes.

Each container's log sits between two marker lines::

    ==== START logs for container C of pod NS/POD ====
    ...
    ==== END logs for container C of pod NS/POD ====

A container that could not give logs has the API server's error text inside its
block instead; we keep it verbatim, since that text is evidence too.

Logs can be huge. We keep only the last ``LOG_TAIL_BYTES`` of each container's
log: crash evidence (the final traceback) is at the end.
"""

from __future__ import annotations

import re
from collections import deque
from dataclasses import dataclass
from pathlib import Path
from typing import Iterable, Iterator

LOG_TAIL_BYTES = 1024 * 1024  # per container; documented in docs/snapshot-format.md
MAX_LINE_CHARS = 16 * 1024  # longer lines are cut so one binary blob cannot fill the tail

_START = re.compile(r"^==== START logs for container (?P<container>\S+) of pod (?P<ns>[^/\s]+)/(?P<pod>\S+) ====$")
_END = re.compile(r"^==== END logs for container (?P<container>\S+) of pod (?P<ns>[^/\s]+)/(?P<pod>\S+) ====$")


@dataclass(frozen=True)
class ContainerLog:
    namespace: str
    pod: str
    container: str
    text: str
    first_line_number: int  # line number of the first kept line in the container's own log
    truncated: bool  # True when the head was dropped to respect LOG_TAIL_BYTES


def start_marker(namespace: str, pod: str, container: str) -> str:
    return f"==== START logs for container {container} of pod {namespace}/{pod} ===="


def end_marker(namespace: str, pod: str, container: str) -> str:
    return f"==== END logs for container {container} of pod {namespace}/{pod} ===="


class _Tail:
    """Keeps the last ``limit`` bytes' worth of lines, counting what it dropped."""

    def __init__(self, limit: int):
        self.limit = limit
        self.lines: deque[str] = deque()
        self.size = 0
        self.dropped = 0

    def add(self, line: str) -> None:
        if len(line) > MAX_LINE_CHARS:
            line = line[:MAX_LINE_CHARS] + " …[line cut]"
        self.lines.append(line)
        self.size += len(line) + 1
        while self.size > self.limit and len(self.lines) > 1:
            self.size -= len(self.lines.popleft()) + 1
            self.dropped += 1


def iter_container_logs(lines: Iterable[str], tail_bytes: int = LOG_TAIL_BYTES) -> Iterator[ContainerLog]:
    """Split a dump log stream into one ContainerLog per START/END block.

    Streams: memory is bounded by ``tail_bytes`` per container whatever the file size.
    Text outside any block is ignored; a block cut off before its END still counts.
    """
    current: tuple[str, str, str] | None = None
    tail = _Tail(tail_bytes)
    for raw in lines:
        line = raw.rstrip("\n").rstrip("\r")
        if current is None:
            start = _START.match(line)
            if start:
                current = (start["ns"], start["pod"], start["container"])
                tail = _Tail(tail_bytes)
            continue
        end = _END.match(line)
        if end and (end["ns"], end["pod"], end["container"]) == current:
            yield _finish(current, tail)
            current = None
            continue
        tail.add(line)
    if current is not None:
        yield _finish(current, tail)


def _finish(key: tuple[str, str, str], tail: _Tail) -> ContainerLog:
    namespace, pod, container = key
    return ContainerLog(namespace, pod, container, "\n".join(tail.lines), tail.dropped + 1, tail.dropped > 0)


def read_log_file(path: Path, tail_bytes: int = LOG_TAIL_BYTES) -> dict[str, ContainerLog]:
    """Parse one ``logs.txt`` file; bytes that are not UTF-8 are replaced, not fatal."""
    with open(path, encoding="utf-8", errors="replace", newline="") as handle:
        return {log.container: log for log in iter_container_logs(_bounded_lines(handle), tail_bytes)}


def _bounded_lines(handle, limit: int = MAX_LINE_CHARS + 1) -> Iterator[str]:
    """The file's lines, each read at most ``limit`` characters deep.

    Iterating a file reads a whole line into memory, and a binary blob without a
    newline is one line of gigabytes: the rest of an over-long line is skipped
    in ``limit``-sized reads instead (``_Tail`` marks the line as cut).
    """
    while line := handle.readline(limit):
        if len(line) == limit and line[-1] not in "\r\n":
            while (rest := handle.readline(limit)) and len(rest) == limit and rest[-1] not in "\r\n":
                pass
        yield line


def render_log_file(namespace: str, pod: str, texts: dict[str, str]) -> str:
    """The inverse of ``read_log_file``: what ``kubectl cluster-info dump`` writes for a pod."""
    parts = []
    for container, text in texts.items():
        parts.append(start_marker(namespace, pod, container))
        if text:
            parts.append(text.rstrip("\n"))
        parts.append(end_marker(namespace, pod, container))
    return "\n".join(parts) + "\n"
