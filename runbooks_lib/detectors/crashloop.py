"""crashloop: a container in CrashLoopBackOff, or restarting with non-zero exits.

The finding names what the container died of: the exception in the previous
container's log (whole traceback, root type and message, the deepest frame in
the application's own code and, for Python, the module-level call site when the
exception was raised at import), classified where the text allows.

The helpers the pod-runtime rules share (status field paths, the container's
spec inside the owning workload, pod grouping) are in ``_common``.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from dataclasses import dataclass
from datetime import timedelta
from typing import TYPE_CHECKING, Any, Iterable

import pandas as pd

from ..findings import Evidence, Finding, Remediation
from ..log_exceptions import ExtractedException, StackFrame
from ..log_exceptions import last_exception as _last_exception
from ..registry import Rule, detector
from ..state import RUNTIME
from ..timeutil import format_time, human_duration
from ._common import (container_count, event_evidence, events_for, frame_rows, object_name, pods_phrase, status_path,
                      top_event, workload_groups)
from ._common import int_or_none as _int_or_none, nonempty_str as _str, number_or_none as _num, time_or_none as _time

if TYPE_CHECKING:
    from ..state import ClusterState


def logs_command(namespace: str, pod: str, container: str, previous: bool = True) -> str:
    return f"kubectl logs -n {namespace} {pod} -c {container}" + (" --previous" if previous else "")


# ----------------------------------------------------------------------------------------------
# The rule
# ----------------------------------------------------------------------------------------------

RULE = Rule(
    id="crashloop",
    title="Container crash-loops",
    severity="critical",
    detects=(
        "A container in CrashLoopBackOff, or restarting with non-zero exits. The finding names what it died "
        "of: the last termination (exit code, reason) and the exception in the previous container's log, "
        "with its root type and message and the deepest frame in the application's own code."
    ),
    why=(
        "Each crash takes the pod out of its Service and the kubelet waits longer before every restart (up "
        "to 5 minutes), so a crash-looping Deployment serves nothing and a rollout of it never completes. "
        "The cause is almost always in the previous container's log, which disappears with the next restart."
    ),
    example=(
        "Pod status: waiting CrashLoopBackOff \"back-off 2m40s restarting failed container=mcp-server "
        "pod=staging-mcp-server-langgraph-7d9c6b5f4-x2x8k_staging(...)\", lastState terminated Error "
        "(exit 1).\nPrevious log:\n  File \"/app/src/mcp_server_langgraph/mcp/server_streamable.py\", line "
        "187, in <module>\n    logger.info(\"Rate limiting enabled\")\nRuntimeError: Observability not "
        "initialized. Call init_observability() first."
    ),
    fix=(
        "Fix the cause the exception names: code that runs at import before the startup hook (move it into "
        "the startup hook), missing configuration (set the env var or mount the config), a dependency that "
        "refuses or times out (check its Service, endpoints and NetworkPolicy egress), permissions "
        "(securityContext, volume ownership), a port already in use. Read the whole log with "
        "`kubectl logs --previous`."
    ),
    runbook="crashloop",
    needs=frozenset({RUNTIME}),
)

CRASH_WAITING_REASONS = ("CrashLoopBackOff", "RunContainerError")
RECENT = timedelta(hours=1)
FLAPPING_RESTARTS = 2
MAX_LOG_LINES = 300

# What to do, per category of the root exception (or of the termination when no log names one).
_REMEDIATION = {
    "startup-initialization": (
        "The process fails while starting up{where}. Code that runs at import time runs before the "
        "application's startup hook: move the module-level call into the startup hook (e.g. the FastAPI "
        "lifespan / on_startup handler), and use logging.getLogger(__name__) at import time instead of a "
        "logger that needs initialization."
    ),
    "missing-config": (
        "The application is missing configuration{where}. Set the environment variable or mount the file it "
        "names (check env/envFrom and volumes of the container against what the application reads), then "
        "let the pod restart."
    ),
    "dependency-connection-refused": (
        "A dependency refused the connection{where}. Check that the service it connects to is running and has "
        "ready endpoints (kubectl get endpoints), that host and port in the config are right, and that no "
        "NetworkPolicy blocks egress; make the application retry with backoff instead of exiting."
    ),
    "dependency-timeout": (
        "A connection to a dependency timed out{where}. Timeouts (rather than refusals) usually mean traffic "
        "is dropped: check NetworkPolicy ingress AND egress rules for that port, DNS, and firewalls; check the "
        "dependency is up. Make the application retry with backoff instead of exiting."
    ),
    "permission-denied": (
        "The process was denied access to a file, directory or port{where}. Check securityContext (runAsUser, "
        "fsGroup, readOnlyRootFilesystem), volume ownership and mount modes, and ports below 1024 for "
        "non-root users."
    ),
    "address-in-use": (
        "The port the process binds is already in use{where}. Containers of one pod share a network "
        "namespace: check the other containers (and sidecars) of the pod for the same port, and the "
        "application's own listen configuration."
    ),
    "command-failed-to-start": (
        "The container's command could not be started{where}: check command/args in the pod spec and the "
        "image's entrypoint (the executable must exist in the image and be executable)."
    ),
    "liveness-probe": (
        "The kubelet kills the container because its liveness probe fails; the restarts are the probe's doing, "
        "not a crash. Fix the probe (port, path, timing) or the endpoint it checks; see the probe findings."
    ),
    "exited-zero": (
        "The main process exits with code 0 and the pod's restartPolicy restarts it. A long-running "
        "container's command must not return: check command/args (a shell script that backgrounds the server, "
        "a one-off task that belongs in a Job)."
    ),
    "other": (
        "The container exits{where}{hint} and {nolog}: look at the last lines it wrote before exiting, fix "
        "the cause in the image or configuration, then let the pod restart."
    ),
}
# What a bare exit code says (128+n: killed by signal n).
EXIT_CODE_HINTS = {
    126: "the command was found but is not executable",
    127: "command not found",
    134: "SIGABRT: the process aborted",
    137: "SIGKILL: killed from outside (liveness probe, eviction or a kill), not an OOM kill",
    139: "SIGSEGV: segmentation fault",
    143: "SIGTERM: asked to stop (liveness probe, node drain, preStop) and exited",
}
# When no exception is found in the log, the termination message may still say enough.
_MESSAGE_CATEGORIES = (
    ("command-failed-to-start", ("executable file not found", "exec format error", "no such file or directory",
                                 "permission denied\": unknown", "starterror", "oci runtime create failed")),
    ("address-in-use", ("address already in use", "eaddrinuse")),
    ("permission-denied", ("permission denied", "eacces", "operation not permitted")),
    ("dependency-connection-refused", ("connection refused", "econnrefused")),
    ("dependency-timeout", ("timed out", "timeout", "deadline exceeded")),
    ("missing-config", ("not set", "missing required", "environment variable", "no such file")),
)


@dataclass
class _PodCrash:
    pod: str
    row: Any  # a frames.containers row
    log_text: str | None
    exception: ExtractedException | None
    log_first_line: int  # ContainerLog.first_line_number
    previous: bool  # whether the exception came from the previous container's log


@detector(RULE)
def detect(state: "ClusterState") -> Iterable[Finding]:
    containers = state.frames.containers
    if containers.empty:
        return []
    # Only a container that restarted, or waits in a crash back-off, can pass _is_crashing: the per-row
    # test (slow on a whole cluster's containers) runs on those only.
    maybe = containers[containers["reason"].isin(CRASH_WAITING_REASONS) | (containers["restarts"] > 0)]
    crashing = [_is_crashing(row, state) for row in frame_rows(maybe)]
    candidates = maybe[pd.Series(crashing, index=maybe.index, dtype=bool)]
    findings = []
    for (namespace, workload_kind, workload, container), group in workload_groups(candidates):
        finding = _finding(state, namespace, workload_kind, workload, container, group)
        if finding:
            findings.append(finding)
    return findings


def _is_crashing(row, state: "ClusterState") -> bool:
    waiting_reason = _str(row.reason) if row.state == "waiting" else None
    last_reason = _str(row.last_reason)
    if last_reason == "OOMKilled" or (row.state == "terminated" and _str(row.reason) == "OOMKilled"):
        return False  # the oom-killed rule reports these, with the memory limit and a patch
    if waiting_reason in CRASH_WAITING_REASONS:
        return True
    last_exit = _num(row.last_exit_code)
    if row.state == "terminated" and row.restarts > 0 and (_num(row.exit_code) or 0) != 0 and not row.init:
        return True  # caught between a crash and the back-off
    if row.restarts >= FLAPPING_RESTARTS and last_exit not in (None, 0):
        finished = _time(row.last_finished)
        return finished is not None and state.now - finished <= RECENT
    return False


def _finding(state: "ClusterState", namespace: str, workload_kind: str, workload: str, container: str,
             group: pd.DataFrame) -> Finding | None:
    names = _app_names(workload, container, group)
    crashes = [_pod_crash(state, namespace, container, row, names) for row in frame_rows(group)]
    if not crashes:
        return None
    total_pods = _pods_of_workload(state, namespace, workload_kind, workload)
    looping = any(_str(c.row.reason) in CRASH_WAITING_REASONS or c.row.state == "terminated" for c in crashes)
    severity = "critical" if looping else "warning"

    # The most common root exception across the pods, and the pod that shows it (first by name).
    keyed = [(c, _exception_key(c.exception)) for c in crashes]
    counts = Counter(key for _, key in keyed if key)
    if counts:  # most_common breaks ties by first appearance, i.e. by pod name
        best, same = counts.most_common(1)[0]
        representative = next(c for c, key in keyed if key == best)
    else:
        representative, same = crashes[0], 0
    category = _category(state, namespace, container, crashes, representative)
    pods = tuple(sorted(c.pod for c in crashes))

    summary = _summary(state, namespace, workload_kind, workload, container, crashes, representative,
                       category, same, len(counts), total_pods)
    evidence = _evidence(state, namespace, container, representative, crashes)
    remediation = _remediation(namespace, container, representative, category)
    # One finding per workload+container (the container is part of Finding.id): no discriminator.
    return Finding(rule=RULE.id, severity=severity, namespace=namespace or None, kind=workload_kind,
                   name=workload, summary=summary, evidence=tuple(evidence), remediation=remediation,
                   pods=pods, container=container)


def _pods_of_workload(state: "ClusterState", namespace: str, kind: str, name: str) -> int:
    return len(state.frames.lookup("pods", namespace=namespace, workload_kind=kind, workload=name))


# -- logs and exceptions ----------------------------------------------------------------------------

def _pod_crash(state: "ClusterState", namespace: str, container: str, row, names: tuple[str, ...] = ()) -> _PodCrash:
    """The exception this pod's container died of: previous log, else current log, else the
    termination message (FallbackToLogsOnError copies the log's tail there)."""
    pod = str(row.pod)
    first_log = None
    for previous in (True, False):
        log = state.logs.get(namespace, pod, container, previous=previous)
        text = log.text if log is not None and isinstance(log.text, str) else None
        if not text or not text.strip():
            continue
        first_line = log.first_line_number if isinstance(log.first_line_number, int) else 1
        exception = with_app_frames(extract_last_exception(text), names)
        if exception is not None:
            return _PodCrash(pod, row, text, exception, first_line, previous)
        first_log = first_log or (text, first_line, previous)
    message = _str(row.last_message) or (_str(row.message) if row.state == "terminated" else None)
    exception = with_app_frames(extract_last_exception(message), names) if message else None
    if exception is not None:
        return _PodCrash(pod, row, None, exception, 1, True)
    if first_log is not None:
        return _PodCrash(pod, row, first_log[0], None, first_log[1], first_log[2])
    return _PodCrash(pod, row, None, None, 1, True)


def extract_last_exception(text: str):
    try:
        return _last_exception(text)
    except Exception:  # a parser bug must not hide the crash itself: report it without the exception
        return None


_SITE_PACKAGE = re.compile(r"[/\\](?:site|dist)-packages[/\\]([A-Za-z0-9_.]+)[/\\]")


def _app_names(workload: str, container: str, group: pd.DataFrame) -> tuple[str, ...]:
    """Names the application's own Python package is likely to have: container, workload, image repository."""
    raw = [container, workload]
    for image in group["image"].dropna().astype(str).unique():
        repository = image.split("@", 1)[0].rsplit("/", 1)[-1].split(":", 1)[0]
        raw.append(repository)
    return tuple(dict.fromkeys(_norm(name) for name in raw if name))


def _norm(name: str) -> str:
    return re.sub(r"[^a-z0-9]+", "_", name.lower()).strip("_")


def with_app_frames(exception: ExtractedException | None, names: tuple[str, ...]) -> ExtractedException | None:
    """Python apps installed as a package into site-packages look like third-party code to the parser.

    When the parser found no application frame, frames in a site-packages package named like the
    container, workload or image (``mcp_server_langgraph`` for container ``mcp-server-langgraph``) are
    taken as the application's own.
    """
    if exception is None or exception.app_frame is not None or exception.language != "python" or not names:
        return exception
    app = []
    for frame in exception.frames:
        match = _SITE_PACKAGE.search(str(frame.file or ""))
        package = _norm(match.group(1)) if match else ""
        if len(package) >= 3 and any(package == name or package in name for name in names):
            app.append(StackFrame(frame.file, frame.line, frame.function, True))
        else:
            app.append(frame)
    app_frames = tuple(frame for frame in app if frame.is_app)
    if not app_frames:
        return exception
    module_frames = [frame for frame in app_frames if frame.function == "<module>"]
    return dataclasses.replace(exception, frames=tuple(app), app_frame=app_frames[-1], app_frames=app_frames,
                               module_level_frame=module_frames[-1] if module_frames else None)


_RUNPY = ("runpy", "_run_module_as_main", "_run_code", "run_path", "run_module")


def import_frame(exception: ExtractedException | None):
    """The module-level frame when the exception was raised while that module was being *imported*.

    A module-level frame that is the outermost frame (``python app.py``), or that only runpy calls
    (``python -m app``), is a script running, not an import.
    """
    frame = getattr(exception, "module_level_frame", None) if exception is not None else None
    if frame is None:
        return None
    frames = list(getattr(exception, "frames", ()) or ())
    if frame not in frames:
        return None
    before = frames[:frames.index(frame)]
    if not before or all(any(marker in f"{f.file} {f.function}" for marker in _RUNPY) for f in before):
        return None
    return frame


def _exception_key(exception) -> tuple[str, str] | None:
    if exception is None:
        return None
    return (str(getattr(exception, "exception_type", "") or ""), str(getattr(exception, "message", "") or ""))


def _category(state: "ClusterState", namespace: str, container: str, crashes: list[_PodCrash],
              representative: _PodCrash) -> str:
    exception = representative.exception
    category = getattr(exception, "category", None) if exception is not None else None
    if category:
        return str(category)
    row = representative.row
    if _str(row.last_reason) == "StartError" or (_str(row.reason) == "RunContainerError"):
        return "command-failed-to-start"
    if _num(row.last_exit_code) in (126, 127):
        return "command-failed-to-start"
    if not _liveness_kills(state, namespace, container, [c.pod for c in crashes]).empty:
        return "liveness-probe"
    if _num(row.last_exit_code) == 0 and _str(row.last_reason) == "Completed":
        return "exited-zero"
    text = " ".join(filter(None, [_str(row.last_message), _str(row.message),
                                  getattr(exception, "message", None) if exception else None])).lower()
    for name, markers in _MESSAGE_CATEGORIES:
        if any(marker in text for marker in markers):
            return name
    return "other"


def _liveness_kills(state: "ClusterState", namespace: str, container: str, pods: list[str]) -> pd.DataFrame:
    events = events_for(state, namespace, "Pod", pods, reasons=["Killing"])
    if events.empty:
        return events
    mask = events["message"].str.contains("failed liveness probe", case=False, na=False)
    mask &= events["container"].isna() | (events["container"] == container)
    return events[mask]


# -- summary ---------------------------------------------------------------------------------------

def _frame_location(frame) -> str | None:
    if frame is None:
        return None
    file = getattr(frame, "file", None)
    line = getattr(frame, "line", None)
    if not file:
        return None
    base = str(file).replace("\\", "/").rsplit("/", 1)[-1]
    return f"{base}:{line}" if line else base


def _summary(state, namespace, workload_kind, workload, container, crashes, representative, category, same,
             distinct, total_pods) -> str:
    if bool(representative.row.init):
        who = f"{workload} (init container {container})"
    elif container_count(state, namespace, workload_kind, workload) > 1:
        who = f"{workload} ({container})"
    else:
        who = workload
    verb = "crash-loops" if any(_str(c.row.reason) in CRASH_WAITING_REASONS for c in crashes) else "keeps restarting"
    exception = representative.exception
    row = representative.row
    if exception is not None:
        what = _one_line(exception.headline)
        module_frame = import_frame(exception)
        app_frame = getattr(exception, "app_frame", None)
        if module_frame is not None and _frame_location(module_frame):
            where = f"raised at import, {_frame_location(module_frame)}"
        elif app_frame is not None and _frame_location(app_frame):
            where = f"at {_frame_location(app_frame)}"
        else:
            where = None
        detail = f"{what} ({where})" if where else what
    elif category == "liveness-probe":
        detail = "killed by its failing liveness probe"
    else:
        detail = _termination_phrase(row, representative.log_text is not None)
    extra = []
    if distinct > 1 and same:
        extra.append(f"{same} of {len(crashes)} crashing pods show this; others differ")
    elif len(crashes) > 1 or total_pods > len(crashes):
        extra.append(pods_phrase(len(crashes), total_pods))
    restarts = int(sum(int(c.row.restarts or 0) for c in crashes))
    if restarts:
        extra.append(f"{restarts} restart{'s' if restarts != 1 else ''}")
    tail = f" [{'; '.join(extra)}]" if extra else ""
    return f"{who} {verb}: {detail}{tail}"


def _one_line(text: str, limit: int = 160) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _termination_phrase(row, has_log: bool = True) -> str:
    reason = _str(row.last_reason) or (_str(row.reason) if row.state == "terminated" else None)
    code = _num(row.last_exit_code)
    if code is None and row.state == "terminated":
        code = _num(row.exit_code)
    if reason == "StartError" or _str(row.reason) == "RunContainerError":
        message = _start_error_detail(_str(row.last_message) or _str(row.message))
        return f"command failed to start ({_one_line(message, 120)})" if message else "command failed to start"
    if code is None:
        nothing = "no exception in the log" if has_log else "no log captured"
        return f"last terminated {reason}; {nothing}" if reason else f"no termination recorded; {nothing}"
    hint = EXIT_CODE_HINTS.get(int(code))
    labels = ", ".join(filter(None, [reason, hint]))
    return (f"exits with code {int(code)}" + (f" ({labels})" if labels else "")
            + ("; no exception in the log" if has_log else "; no log captured"))


def _start_error_detail(message: str | None) -> str | None:
    """The telling end of the runtime's 'failed to create shim task: OCI runtime create failed: ...' chain."""
    if not message:
        return None
    for marker in ("unable to start container process: ", "OCI runtime create failed: ", "desc = "):
        if marker in message:
            message = message.rsplit(marker, 1)[1]
            break
    return message.removesuffix(": unknown").strip() or None


# -- evidence --------------------------------------------------------------------------------------

def _evidence(state: "ClusterState", namespace: str, container: str, representative: _PodCrash,
              crashes: list[_PodCrash]) -> list[Evidence]:
    row = representative.row
    pod = representative.pod
    init = bool(row.init)
    pod_object = object_name("Pod", namespace, pod)
    evidence: list[Evidence] = []
    if row.state == "waiting" and _str(row.reason):
        message = _str(row.message)
        evidence.append(Evidence.from_status(
            f"waiting: {row.reason}" + (f" ({message})" if message else ""),
            path=status_path(state, namespace, pod, container, init, "state", "waiting", "reason"),
            value=row.reason, object=pod_object))
    term_state, code, reason, finished, started, message = _last_termination(row)
    if code is not None or reason:
        ran = human_duration(finished - started) if finished is not None and started is not None else None
        text = (f"{'last ' if term_state == 'lastState' else ''}terminated: {reason or 'exit'} (exit code "
                f"{code if code is not None else '?'})" + (f", finished {format_time(finished)}" if finished else "")
                + (f" after running {ran}" if ran else ""))
        if message:
            text += f"; message: {_one_line(message, 300)}"
        evidence.append(Evidence.from_status(
            text, path=status_path(state, namespace, pod, container, init,
                                   *(["lastState"] if term_state == "lastState" else ["state"]),
                                   "terminated", "exitCode"),
            value=code, object=pod_object))
    restarts = int(row.restarts or 0)
    evidence.append(Evidence.from_status(
        f"restarted {restarts} time{'s' if restarts != 1 else ''}",
        path=status_path(state, namespace, pod, container, init, "restartCount"), value=restarts,
        object=pod_object))
    evidence.extend(_log_evidence(state, representative, namespace, container))
    evidence.extend(_other_pods_evidence(state, namespace, container, crashes, representative))
    evidence.extend(_event_evidence(state, namespace, container, [c.pod for c in crashes]))
    return evidence


def _last_termination(row):
    """(which state, exit code, reason, finished, started, message) of the termination to show."""
    if row.state == "terminated":
        return ("state", _int_or_none(row.exit_code), _str(row.reason), None, _time(row.started_at),
                _str(row.message))
    return ("lastState", _int_or_none(row.last_exit_code), _str(row.last_reason), _time(row.last_finished),
            _time(row.last_started), _str(row.last_message))


def _log_evidence(state: "ClusterState", crash: _PodCrash, namespace: str, container: str) -> list[Evidence]:
    exception = crash.exception
    pod_object = object_name("Pod", namespace, crash.pod)
    if exception is None or crash.log_text is None:
        if exception is not None:  # found in the termination message, not a log
            return [Evidence.from_status(
                f"{exception.exception_type}: {exception.message} (from the termination message)",
                path=status_path(state, namespace, crash.pod, container, bool(crash.row.init),
                                 *(["state"] if crash.row.state == "terminated" else ["lastState"]),
                                 "terminated", "message"),
                value=_one_line(str(exception.message), 300), object=pod_object)]
        if crash.log_text:
            lines = crash.log_text.split("\n")
            tail = lines[-10:]
            offset = crash.log_first_line - 1
            first = len(lines) - len(tail) + 1 + offset
            return [Evidence.from_log(
                f"no exception found; last {len(tail)} lines of the {'previous' if crash.previous else 'current'} log",
                container=container, previous=crash.previous, first_line=first, last_line=first + len(tail) - 1,
                lines=tail, object=pod_object)]
        return []
    offset = crash.log_first_line - 1
    first, last = int(exception.first_line), int(exception.last_line)
    lines = list(getattr(exception, "lines", None) or crash.log_text.split("\n")[first - 1:last])
    omitted = 0
    if len(lines) > MAX_LOG_LINES:  # keep the tail (the root exception); line numbers stay exact
        omitted = len(lines) - MAX_LOG_LINES
        lines = lines[omitted:]
        first += omitted
    which = "previous" if crash.previous else "current"
    text = f"{exception.exception_type}: {_one_line(str(exception.message or ''), 200)} ({which} container's log"
    app_frame = getattr(exception, "app_frame", None)
    if app_frame is not None and _frame_location(app_frame):
        text += f"; deepest application frame {app_frame.file}:{app_frame.line}"
        if getattr(app_frame, "function", None):
            text += f" in {app_frame.function}"
    module_frame = import_frame(exception)
    if module_frame is not None and _frame_location(module_frame):
        text += f"; raised during import, module-level call at {module_frame.file}:{module_frame.line}"
    chain = [pair for pair in (getattr(exception, "chain", None) or [])]
    if len(chain) > 1:
        text += "; chain: " + " <- ".join(str(pair[0]) for pair in chain)
    if omitted:
        text += f"; the first {omitted} lines of the traceback are not shown"
    text += ")"
    return [Evidence.from_log(text, container=container, previous=crash.previous, first_line=first + offset,
                              last_line=last + offset, lines=lines, object=pod_object)]


def _other_pods_evidence(state: "ClusterState", namespace: str, container: str, crashes: list[_PodCrash],
                         representative: _PodCrash) -> list[Evidence]:
    """One log excerpt per other exception some pods died of (from the first pod showing it)."""
    key = _exception_key(representative.exception)
    others: dict[tuple[str, str], list[_PodCrash]] = {}
    for crash in crashes:
        other = _exception_key(crash.exception)
        if other is not None and other != key:
            others.setdefault(other, []).append(crash)
    evidence = []
    for (exc_type, message), group in sorted(others.items(), key=lambda item: -len(item[1])):
        pods = ", ".join(c.pod for c in group)
        prefix = f"{pods_phrase(len(group))} ({pods}) died of a different exception: "
        for item in _log_evidence(state, group[0], namespace, container):
            evidence.append(dataclasses.replace(item, text=prefix + item.text))
    return evidence


def _event_evidence(state: "ClusterState", namespace: str, container: str, pods: list[str]) -> list[Evidence]:
    events = events_for(state, namespace, "Pod", pods, reasons=["BackOff", "Killing"])
    if events.empty:
        return []
    mask = events["container"].isna() | (events["container"] == container)
    back_off = events["message"].str.contains("restarting failed container", case=False, na=False)
    liveness = events["message"].str.contains("failed liveness probe", case=False, na=False)
    events = events[mask & (back_off | liveness)]
    if events.empty:
        return []
    # The most repeated of each kind: enough to date the loop without listing every pod's events.
    picked = []
    for selector in (back_off, liveness):
        subset = events[selector.reindex(events.index, fill_value=False)]
        if not subset.empty:
            picked.append(top_event(subset))
    return [event_evidence(row) for row in picked]


# -- remediation -----------------------------------------------------------------------------------

def _remediation(namespace: str, container: str, crash: _PodCrash, category: str) -> Remediation:
    exception = crash.exception
    where = ""
    if exception is not None:
        module_frame = import_frame(exception)
        app_frame = getattr(exception, "app_frame", None)
        if module_frame is not None and getattr(module_frame, "file", None):
            where = f" (module-level call at {module_frame.file}:{module_frame.line}, during import)"
        elif app_frame is not None and getattr(app_frame, "file", None):
            where = f" (at {app_frame.file}:{app_frame.line})"
        if category == "startup-initialization" and module_frame is None:
            template = ("The process fails while starting up{where}: something is used before it is "
                        "initialized. Initialize it first (in the startup hook), or defer the call until after "
                        "initialization.")
        elif category in _REMEDIATION and category != "other":
            template = _REMEDIATION[category]
        else:
            template = (f"The process dies of an uncaught {exception.exception_type}{{where}}: fix the code path "
                        "or the input (configuration, data) that raises it; the whole traceback is in the evidence.")
    else:
        template = _REMEDIATION.get(category, _REMEDIATION["other"])
    code = _int_or_none(crash.row.last_exit_code)
    hint = f" with code {code} ({EXIT_CODE_HINTS[code]})" if code in EXIT_CODE_HINTS else (
        f" with code {code}" if code is not None else "")
    nolog = "its log names no exception" if crash.log_text is not None else "no log of it was captured"
    text = template.replace("{where}", where).replace("{hint}", hint).replace("{nolog}", nolog)
    text += f" Read the crashed container's full log: {logs_command(namespace, crash.pod, container)}"
    return Remediation(text=text, command=logs_command(namespace, crash.pod, container))
