"""Find the exception that killed a container in its (previous) log text.

:func:`extract_exceptions` returns every exception printout in a log, in order;
:func:`last_exception` picks the one that most likely ended the process.

Printouts recognised
====================

Python
    ``Traceback (most recent call last):`` blocks, plain or after a log prefix on the
    same line (uvicorn's ``ERROR:    Traceback ...``), or with the same prefix on every
    line (``kubectl logs --prefix``).  Frames, source and 3.11+ caret lines, the final
    ``Type: message`` (dotted types, multi-line messages).  Chains joined by
    "During handling of the above exception..." / "The above exception was the direct
    cause...".  Minimal ``+ Exception Group Traceback`` support.
    Root = the exception printed last: the one that reached the top and killed the process.
Java / Kotlin / Scala
    ``Exception in thread "main" pkg.SomeException: msg``, or ``pkg.SomeException: msg``
    (alone, or at the end of a log line such as Keycloak's ``... (main) Error details:: X: msg``)
    followed by ``\\tat`` frames, ``... N more``, ``Caused by:`` and ``Suppressed:``.
    Root = the deepest top-level ``Caused by:``: the real cause.
Go
    ``panic: ...`` / ``fatal error: ...`` (nested ``panic: ... [recovered]``, the
    ``[signal SIGSEGV ...]`` line) followed by goroutine traces.  A ``panic:`` line
    without a goroutine trace is not taken.  Type is ``"panic"`` or ``"fatal error"``.
Node.js
    ``Error: msg`` / ``TypeError: ...`` / ``Error [CODE]: ...`` followed by ``    at`` frames,
    with the uncaught-error preamble (``/app/x.js:12``, source, ``^``, blank line), the
    ``{ code: 'ECONNREFUSED', [cause]: ... }`` trailer and the ``Node.js vX`` line.
    Root = the deepest ``[cause]`` (as for Java), else the error itself.

``chain`` is always in printed order; ``app_frame`` is the deepest frame in the
application's own code (Python prints the deepest frame last, the others first).

Cost
====

One forward pass over the lines.  Each runtime has a cheap trigger (a substring
test or a short anchored regex); Java and Node blocks are found from their first
frame line and look back at most ``_MAX_HEADER_LOOKBACK`` lines for the header.
Regexes are precompiled, anchored, and use possessive quantifiers (Python 3.11+)
or run only on lines shorter than ``_MAX_FRAME_LINE``, so there is no catastrophic
backtracking: a 50 MB log or a 1 MB line stays linear.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import lru_cache
from typing import Callable, Sequence

__all__ = [
    "StackFrame",
    "ExtractedException",
    "extract_exceptions",
    "last_exception",
    "CATEGORY_PERMISSION_DENIED",
    "CATEGORY_ADDRESS_IN_USE",
    "CATEGORY_CONNECTION_REFUSED",
    "CATEGORY_TIMEOUT",
    "CATEGORY_MISSING_CONFIG",
    "CATEGORY_STARTUP",
    "CATEGORIES",
    "CATEGORY_DESCRIPTIONS",
    "PYTHON_LIBRARY_PATH_PATTERNS",
    "JAVA_LIBRARY_PACKAGES",
    "GO_LIBRARY_PATH_PATTERNS",
    "NODE_LIBRARY_PATTERNS",
]


# ----------------------------------------------------------------------------------------------
# Public data
# ----------------------------------------------------------------------------------------------

@dataclass(frozen=True)
class StackFrame:
    file: str  # path as printed (Java: the source file name, e.g. "Util.java" or "Unknown Source")
    line: int | None
    function: str | None  # Java: fully qualified method; Go: package-qualified function
    is_app: bool  # the application's own code, not the runtime, stdlib or third-party packages


@dataclass(frozen=True)
class ExtractedException:
    language: str  # "python" | "java" | "go" | "node"
    exception_type: str  # root exception type
    message: str  # root exception message
    first_line: int  # 1-based line in the given text where the block starts
    last_line: int  # 1-based, inclusive
    lines: tuple[str, ...]  # the whole block, verbatim
    frames: tuple[StackFrame, ...]  # frames of the root exception, in printed order
    app_frame: StackFrame | None  # deepest frame in the application's own code
    chain: tuple[tuple[str, str], ...]  # (type, message) of every exception in the chain, printed order
    category: str | None = None  # one of CATEGORIES, or None
    app_frames: tuple[StackFrame, ...] = ()  # the app frames app_frame was chosen from, outermost first
    module_level_frame: StackFrame | None = None  # Python: deepest app <module> frame whose top-level code raised

    @property
    def headline(self) -> str:
        """``Type: first line of message`` for one-line summaries."""
        first = self.message.split("\n", 1)[0] if self.message else ""
        return f"{self.exception_type}: {first}" if first else self.exception_type


# ----------------------------------------------------------------------------------------------
# Categories
# ----------------------------------------------------------------------------------------------

CATEGORY_PERMISSION_DENIED = "permission-denied"
CATEGORY_ADDRESS_IN_USE = "address-in-use"
CATEGORY_CONNECTION_REFUSED = "dependency-connection-refused"
CATEGORY_TIMEOUT = "dependency-timeout"
CATEGORY_MISSING_CONFIG = "missing-config"
CATEGORY_STARTUP = "startup-initialization"

# In matching order: the first that matches wins.
CATEGORIES: tuple[str, ...] = (
    CATEGORY_PERMISSION_DENIED,
    CATEGORY_ADDRESS_IN_USE,
    CATEGORY_CONNECTION_REFUSED,
    CATEGORY_TIMEOUT,
    CATEGORY_MISSING_CONFIG,
    CATEGORY_STARTUP,
)

CATEGORY_DESCRIPTIONS: dict[str, str] = {
    CATEGORY_PERMISSION_DENIED: (
        "The process was denied access to a file, directory, socket or API it needs "
        "(securityContext runAsUser/fsGroup, volume ownership, read-only filesystem, RBAC)."
    ),
    CATEGORY_ADDRESS_IN_USE: (
        "The port it tried to listen on was already taken, by another container in the pod, "
        "a second server in the same process, or hostNetwork/hostPort."
    ),
    CATEGORY_CONNECTION_REFUSED: (
        "A dependency (database, cache, broker, API) refused the connection: it is down, "
        "not ready yet, or the host/port in the configuration is wrong."
    ),
    CATEGORY_TIMEOUT: (
        "A dependency did not answer in time: a NetworkPolicy or firewall dropping traffic, DNS, "
        "an overloaded or unready service, or a wrong address."
    ),
    CATEGORY_MISSING_CONFIG: (
        "Required configuration is missing or invalid: an environment variable, a ConfigMap or "
        "Secret key, or a mounted configuration file."
    ),
    CATEGORY_STARTUP: (
        "The exception happened while the application was starting (import-time or module-level "
        "code, static initialisers, init()), before it could serve anything."
    ),
}


# ----------------------------------------------------------------------------------------------
# What is "the application's own code" -- extend these lists for new runtimes and frameworks.
# ----------------------------------------------------------------------------------------------

# Regexes searched in a Python frame's file path; a match means "not app code".
PYTHON_LIBRARY_PATH_PATTERNS: tuple[str, ...] = (
    r"[/\\](?:site|dist)-packages[/\\]",  # third-party packages
    r"[/\\]lib(?:64)?[/\\]python\d[\d.]*[/\\]",  # the stdlib, also inside virtualenvs
    r"^<",  # <frozen importlib._bootstrap>, <string>, <stdin>
    r"\.pyx$",  # Cython modules of compiled packages (uvloop, lxml)
    r"[/\\]bin[/\\][^/\\.]+$",  # console-script launchers such as /usr/local/bin/uvicorn
)

# Package prefixes of Java-world frames that are not app code (JDK and common frameworks).
JAVA_LIBRARY_PACKAGES: tuple[str, ...] = (
    "java.", "javax.", "jakarta.", "jdk.", "sun.", "com.sun.",
    "org.jboss.", "io.quarkus.", "io.vertx.", "io.netty.", "io.smallrye.", "org.infinispan.", "org.jgroups.",
    "org.hibernate.", "org.springframework.", "org.apache.", "org.eclipse.", "org.glassfish.",
    "com.fasterxml.", "ch.qos.logback.", "org.slf4j.", "com.zaxxer.hikari.", "org.postgresql.", "com.mysql.",
    "io.grpc.", "io.micrometer.", "io.opentelemetry.", "reactor.", "okhttp3.",
    "kotlin.", "kotlinx.", "scala.", "akka.", "groovy.", "org.codehaus.groovy.",
)

# Regexes searched in a Go frame's file path; a match means "not app code".
GO_LIBRARY_PATH_PATTERNS: tuple[str, ...] = (
    r"^/usr/local/go/",  # GOROOT of the official images
    r"^/usr/lib/go(?:-[\d.]+)?/",  # GOROOT of distribution packages
    r"/hostedtoolcache/go/",  # GOROOT of CI builders
    r"\$GOROOT",
    r"/pkg/mod/",  # module cache: third-party modules
    r"@v\d",  # module@version paths (-trimpath builds)
    r"^runtime/",  # the runtime (-trimpath builds)
    r"/vendor/",
    r"^<autogenerated>$",
)

# Regexes searched in a Node frame's file; a match means "not app code".
NODE_LIBRARY_PATTERNS: tuple[str, ...] = (
    r"^node:",  # node:internal/..., node:net
    r"^internal/",  # Node <= 14 printed internals without the node: scheme
    r"[/\\]node_modules[/\\]",
    r"^<anonymous>$",
    r"^native$",
    r"^index \d+$",  # Promise.all (index 0)
    r"^eval at ",
)

_PYTHON_LIBRARY_PATH = re.compile("|".join(PYTHON_LIBRARY_PATH_PATTERNS))
_GO_LIBRARY_PATH = re.compile("|".join(GO_LIBRARY_PATH_PATTERNS))
_NODE_LIBRARY = re.compile("|".join(NODE_LIBRARY_PATTERNS))


def _python_is_app(file: str) -> bool:
    return _PYTHON_LIBRARY_PATH.search(file) is None


def _java_is_app(method: str) -> bool:
    return not method.startswith(JAVA_LIBRARY_PACKAGES)


def _go_package(function: str) -> str:
    """``github.com/a/b/pkg.(*T).M`` -> ``github.com/a/b/pkg``; ``main.main`` -> ``main``."""
    slash = function.rfind("/")
    dot = function.find(".", slash + 1)
    return function if dot < 0 else function[:dot]


def _go_is_app(file: str, function: str) -> bool:
    if _GO_LIBRARY_PATH.search(file):
        return False
    package = _go_package(function)
    if package == "runtime" or package.startswith(("runtime/", "internal/")):
        return False
    # -trimpath builds print stdlib files relative ("net/http/server.go"): stdlib import paths have
    # no dot in their first element, third-party ones do ("github.com/...").
    if not file.startswith("/") and package != "main" and "." not in package.split("/", 1)[0]:
        return False
    return True


def _node_is_app(file: str) -> bool:
    return _NODE_LIBRARY.search(file) is None


# ----------------------------------------------------------------------------------------------
# Limits and shared patterns
# ----------------------------------------------------------------------------------------------

_MAX_FRAME_LINE = 4096  # longer lines are never frames; keeps frame regexes cheap
_MAX_HEADER_SCAN = 65536  # exception header lines are only examined up to this many characters
_MAX_HEADER_LOOKBACK = 20  # lines between a Java/Node header and its first frame (multi-line messages)
_MAX_MESSAGE_LINES = 50  # continuation lines of one exception message
_MAX_PROPS_LINES = 500  # a Node "{ code: ..., [cause]: ... }" trailer
_MAX_TYPE_LENGTH = 300
# Frame lines are parsed through an LRU cache: a crash-looping app prints the same trace over and over.
_FRAME_CACHE_SIZE = 8192

# The start of an ordinary log record: ends message continuations and header look-backs.
_LOG_RECORD_START = re.compile(
    r"(?:\[?\d{4}-\d{2}-\d{2}[T ]\d{2}:\d{2}"  # 2025-11-06 16:21:04,553 / [2025-11-06T16:21:04.118Z]
    r"|\d{4}/\d{2}/\d{2} \d{2}:\d{2}"  # Go's log package
    r"|\[?\d{2}:\d{2}:\d{2}[.,\]\s]"  # 16:21:04.553
    r"|[IWEF]\d{4} \d{2}:\d{2}"  # klog
    r"|\[?(?:TRACE|DEBUG|INFO|NOTICE|WARN|WARNING|ERROR|CRITICAL|FATAL)\b[\]:\s]"  # uvicorn "INFO:     "
    r"|\{\""  # JSON lines
    r"|(?:time|ts|level|timestamp)="  # logfmt
    r")"
)

# kubectl logs --timestamps puts an RFC 3339 timestamp in front of every line.
_KUBECTL_TIMESTAMP = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:Z|[+-]\d{2}:\d{2}) ")

_INDENT = (" ", "\t")
_AT_PREFIX = re.compile(r"[ \t]++at ")


@dataclass
class _Section:
    """One exception of a chain while parsing."""

    type: str
    message: str
    frames: list[StackFrame] = field(default_factory=list)
    top: bool = True  # Java: part of the cause chain (not a Suppressed: branch)


@dataclass
class _Parsed:
    language: str
    start: int  # 0-based line index
    end: int  # 0-based, inclusive
    chain: list[_Section]  # printed order
    root: _Section
    search_order: list[_Section]  # where to look for app frames, best first
    innermost_first: bool  # frames printed deepest first (Java, Go, Node) or last (Python)
    extra_text: str = ""  # more text for classification (Node trailer properties)
    fatal_hint: int = 1  # 2: the runtime's own uncaught report; 1: maybe a logged exception; 0: non-fatal


def _find_body(lines: Sequence[str], start: int, is_body: Callable[[str], bool]) -> int | None:
    """Index of the first line from ``start`` that ``is_body``, if only message-like lines precede it."""
    for k in range(start, min(len(lines), start + _MAX_MESSAGE_LINES)):
        line = lines[k]
        if is_body(line):
            return k
        if _LOG_RECORD_START.match(line):
            return None
    return None


def _find_header(lines: Sequence[str], first_frame: int, floor: int,
                 parse_header: Callable[[str], tuple | None]) -> tuple[int, tuple] | None:
    """Look back from a block's first frame for its header line (not past ``floor``)."""
    stop = max(floor, first_frame - _MAX_HEADER_LOOKBACK)
    for index in range(first_frame - 1, stop - 1, -1):
        line = lines[index]
        fields = parse_header(line)
        if fields is not None:
            return index, fields
        if _LOG_RECORD_START.match(line):
            return None
    return None


def _starts_other_block(line: str) -> bool:
    """A line that cannot continue an exception message: it starts another printout."""
    return (_PY_TRACEBACK in line or line.startswith(_GO_STARTS) or line.startswith(_JAVA_THREAD_START)
            or (line[:1] in _INDENT and _AT_PREFIX.match(line) is not None) or _node_header(line) is not None)


def _join_message(first: str, more: Sequence[str]) -> str:
    return "\n".join([first, *more]).rstrip() if more else first.rstrip()


# ----------------------------------------------------------------------------------------------
# Python
# ----------------------------------------------------------------------------------------------

_PY_TRACEBACK = "Traceback (most recent call last):"
_PY_GROUP_TRACEBACK = "Exception Group Traceback (most recent call last):"
_PY_CHAIN_SEPARATORS = frozenset({
    "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
})
_PY_NON_FATAL_INTROS = (
    "Exception in thread ",  # threading.excepthook: the thread dies, not the process
    "Exception ignored in",  # __del__, atexit callbacks
    "Task exception was never retrieved",
    "Future exception was never retrieved",
)
_PY_FRAME = re.compile(r'[ \t]*+File "(?P<file>[^"]*+)", line (?P<line>\d++)(?:, in (?P<func>.++))?$')
_PY_EXCEPTION_LINE = re.compile(r"(?P<type>[A-Za-z_][\w.<>]*+)(?::(?: (?P<msg>.*+))?)?$")
_PY_DOTTED_TYPE = re.compile(r"[A-Za-z_]\w*(?:\.(?:<locals>|[A-Za-z_]\w*))*\Z")
_PY_GROUP_RULE = re.compile(r"[ \t]*+\+[-+ \w.()]*+$")  # "+-+---------------- 1 ----------------"
_PY_GROUP_MARGIN = re.compile(r"[ \t]*+\| ?")


def _py_frame(line: str) -> StackFrame | None:
    if len(line) > _MAX_FRAME_LINE:
        return None  # also keeps long lines out of the cache
    return _py_frame_cached(line)


@lru_cache(maxsize=_FRAME_CACHE_SIZE)
def _py_frame_cached(line: str) -> StackFrame | None:
    match = _PY_FRAME.match(line)
    if match is None:
        return None
    return StackFrame(match["file"], int(match["line"]), match["func"], _python_is_app(match["file"]))


def _py_exception_line(line: str) -> tuple[str, str] | None:
    match = _PY_EXCEPTION_LINE.match(line[:_MAX_HEADER_SCAN])
    if match is None:
        return None
    type_ = match["type"]
    if len(type_) > _MAX_TYPE_LENGTH or not _PY_DOTTED_TYPE.match(type_):
        return None
    return type_, match["msg"] or ""


def _parse_python(lines: Sequence[str], start: int) -> _Parsed | None:
    header = lines[start]
    at = header.find(_PY_TRACEBACK)
    if header[at + len(_PY_TRACEBACK):].strip():
        return None  # e.g. a traceback escaped inside one JSON log line
    # `kubectl logs --prefix` and similar put the same prefix on every line (the header may carry more,
    # e.g. "[pod/x/c] ERROR:    Traceback ..."); a log line such as uvicorn's "ERROR:    " only
    # prefixes the header. The per-line prefix is what precedes the first frame's '  File "'.
    following = lines[start + 1] if start + 1 < len(lines) else ""
    cut = following.find('  File "', 0, _MAX_FRAME_LINE)
    prefix = following[:cut] if cut > 0 else ""
    if prefix and header.startswith(prefix):
        width = len(prefix)

        def unprefix(line: str) -> str:
            return line[width:] if line.startswith(prefix) else line
    else:
        def unprefix(line: str) -> str:
            return line

    sections: list[_Section] = []
    end = start
    body = start + 1
    while True:
        section, after = _parse_python_section(lines, body, unprefix)
        if section is None:
            break
        sections.append(section)
        end = after - 1
        next_header = _python_chain_continues(lines, after, unprefix)
        if next_header is None:
            break
        body = next_header + 1
    if not sections:
        return None
    previous = lines[start - 1] if start > 0 else ""
    fatal = 0 if previous.startswith(_PY_NON_FATAL_INTROS) else 1
    root = sections[-1]
    return _Parsed("python", start, end, sections, root, sections[::-1], innermost_first=False, fatal_hint=fatal)


def _parse_python_section(lines: Sequence[str], j: int,
                          unprefix: Callable[[str], str]) -> tuple[_Section | None, int]:
    """Frames, then ``Type: message`` (with continuation lines). Returns (section, index after it)."""
    n = len(lines)
    frames: list[StackFrame] = []
    while j < n:
        line = unprefix(lines[j])
        frame = _py_frame(line)
        if frame is not None:
            frames.append(frame)
        elif not (frames and (line.startswith("    ") or line.startswith("  [Previous line repeated"))):
            break  # anything but a source line, a 3.11+ caret line or a recursion summary
        j += 1
    if not frames or j >= n:
        return None, j
    exception = _py_exception_line(unprefix(lines[j]))
    if exception is None:
        return None, j
    type_, first = exception
    message = [first]
    j += 1
    limit = j + _MAX_MESSAGE_LINES
    while j < n and j < limit:
        line = unprefix(lines[j])
        if not line.strip():
            # SQLAlchemy ends its messages with a blank line and a "(Background on this error ...)" line.
            if j + 1 < n and unprefix(lines[j + 1]).startswith("(Background on this error"):
                message += ["", unprefix(lines[j + 1])]
                j += 2
                continue
            break
        if line in _PY_CHAIN_SEPARATORS or _LOG_RECORD_START.match(line) or _starts_other_block(line):
            break
        message.append(line)
        j += 1
    return _Section(type_, "\n".join(message).rstrip(), frames), j


def _python_chain_continues(lines: Sequence[str], j: int, unprefix: Callable[[str], str]) -> int | None:
    """Index of the next chained ``Traceback`` header after a separator line, if there is one."""
    n = len(lines)
    k = j
    while k < n and k < j + 2 and not unprefix(lines[k]).strip():
        k += 1
    if k >= n or unprefix(lines[k]).strip() not in _PY_CHAIN_SEPARATORS:
        return None
    k += 1
    while k < n and k < j + 6 and not unprefix(lines[k]).strip():
        k += 1
    if k < n and unprefix(lines[k]).strip() == _PY_TRACEBACK:
        return k
    return None


def _parse_python_group(lines: Sequence[str], start: int) -> _Parsed | None:
    """Minimal ExceptionGroup support: the group with its sub-exceptions as the chain."""
    sections: list[_Section] = []
    frames: list[StackFrame] = []
    end = start
    j = start + 1
    while j < len(lines):
        line = lines[j]
        if _PY_GROUP_RULE.match(line):
            end = j
            j += 1
            continue
        margin = _PY_GROUP_MARGIN.match(line)
        if margin is None:
            break
        content = line[margin.end():]
        end = j
        j += 1
        frame = _py_frame(content)
        if frame is not None:
            frames.append(frame)
            continue
        if not content or content[0] in _INDENT or content.endswith("(most recent call last):"):
            continue  # source lines, nested headers
        if content in _PY_CHAIN_SEPARATORS:
            continue
        exception = _py_exception_line(content)
        if exception is not None:
            sections.append(_Section(exception[0], exception[1], frames))
            frames = []
        elif sections:
            sections[-1].message = f"{sections[-1].message}\n{content}"
    if not sections:
        return None
    group = sections[0]
    # The sub-exceptions hold the interesting frames; the group's own frames only reach asyncio.run().
    return _Parsed("python", start, end, sections, group, sections[1:] + [group], innermost_first=False)


# ----------------------------------------------------------------------------------------------
# Java
# ----------------------------------------------------------------------------------------------

_JAVA_THREAD_START = 'Exception in thread "'
_JAVA_FRAME = re.compile(
    r"[ \t]*+at[ \t]++(?P<method>[^\s()]++)\((?P<source>[^()]*+)\)"
    r"(?:[ \t]*+~?\[[^\]]*+\])?[ \t]*+$"  # logback's " ~[app.jar:1.0]"
)
_JAVA_MORE = re.compile(r"[ \t]*+\.\.\. \d++ (?:more|common frames omitted)[ \t]*+$")
_JAVA_NESTED = re.compile(r"(?P<indent>[ \t]*+)(?P<label>Caused by|Suppressed): (?P<rest>.*+)$")
_JAVA_HEADER = re.compile(
    r'(?P<indent>[ \t]*+)(?:Exception in thread "(?P<thread>[^"]*+)" )?'
    r"(?P<type>[A-Za-z_$][\w$.]*+)(?::(?: ?(?P<msg>.*+)))?$"
)
_JAVA_OTHER_THROWABLE_SUFFIXES = ("Throwable", "Failure", "Fault", "Death")
_JAVA_EXCEPTION_TEXT = re.compile(r"(?P<type>[A-Za-z_$][\w$.]*+)(?::(?: ?(?P<msg>.*+)))?$")
_JAVA_QUALIFIED_TYPE = re.compile(r"(?:[A-Za-z_$][\w$]*\.)+[A-Z_$][\w$]*\Z")
# An exception class at the end of a log line: "... (main) Error details:: java.lang.RuntimeException: msg"
_JAVA_EMBEDDED = re.compile(
    r"(?<![\w$.])(?P<type>(?:[a-z_$][\w$]*+\.)++[A-Z][\w$]*+)"
    r"(?:(?<=Exception)|(?<=Error)|(?<=Throwable))(?:: (?P<msg>.*+))?$"
)


def _strip_java_module(method: str) -> str:
    """Drop ``java.base/`` and ``app//`` prefixes; keep hidden classes (``Foo$$Lambda/0x...``)."""
    if "/" not in method:
        return method
    parts = method.split("/")
    if parts[-1].startswith("0x"):
        return "/".join(parts[-2:])
    return parts[-1]


def _java_frame(line: str) -> StackFrame | None:
    if len(line) > _MAX_FRAME_LINE:
        return None  # also keeps long lines out of the cache
    return _java_frame_cached(line)


@lru_cache(maxsize=_FRAME_CACHE_SIZE)
def _java_frame_cached(line: str) -> StackFrame | None:
    match = _JAVA_FRAME.match(line)
    if match is None or "." not in match["method"]:
        return None
    method = _strip_java_module(match["method"])
    source = match["source"]
    file, _, number = source.rpartition(":")
    if file and number.isdigit():
        return StackFrame(file, int(number), method, _java_is_app(method))
    return StackFrame(source, None, method, _java_is_app(method))


def _is_java_body_line(line: str) -> bool:
    return (_java_frame(line) is not None or _JAVA_MORE.match(line) is not None
            or _JAVA_NESTED.match(line[:_MAX_HEADER_SCAN]) is not None)


def _java_exception_text(text: str) -> tuple[str, str] | None:
    match = _JAVA_EXCEPTION_TEXT.match(text)
    if match is None or len(match["type"]) > _MAX_TYPE_LENGTH:
        return None
    return match["type"], match["msg"] or ""


def _looks_like_java_exception_class(type_: str) -> bool:
    """Keeps thread dumps' "java.lang.Thread.State: WAITING" and similar out of the headers."""
    simple = type_.rsplit(".", 1)[-1]
    return "Exception" in simple or "Error" in simple or simple.endswith(_JAVA_OTHER_THROWABLE_SUFFIXES)


def _java_header(line: str) -> tuple[str, str, int, str | None] | None:
    """(type, message, indent, thread) of a Java exception header line."""
    line = line[:_MAX_HEADER_SCAN]
    nested = _JAVA_NESTED.match(line)
    if nested is not None:  # a chain whose outer part was cut off (log tail) starts at "Caused by:"
        text = _java_exception_text(nested["rest"])
        return (text[0], text[1], len(nested["indent"]), None) if text else None
    match = _JAVA_HEADER.match(line)
    if match is not None:
        type_ = match["type"]
        if (len(type_) <= _MAX_TYPE_LENGTH and _JAVA_QUALIFIED_TYPE.match(type_)
                and (match["thread"] is not None or _looks_like_java_exception_class(type_))):
            return type_, match["msg"] or "", len(match["indent"]), match["thread"]
    embedded = _JAVA_EMBEDDED.search(line)
    if embedded is not None:
        return embedded["type"], embedded["msg"] or "", 0, None
    return None


def _parse_java(lines: Sequence[str], header_index: int, header: tuple[str, str, int, str | None],
                first_body: int | None) -> _Parsed:
    type_, message, indent, thread = header
    if first_body is not None:
        message = _join_message(message, lines[header_index + 1:first_body])
    sections = [_Section(type_, message)]
    end = header_index if first_body is None else _parse_java_body(lines, first_body, sections, indent)
    chain = [section for section in sections if section.top]
    root = chain[-1]
    return _Parsed("java", header_index, end, chain, root, chain[::-1], innermost_first=True,
                   fatal_hint=2 if thread == "main" else 1)


def _parse_java_body(lines: Sequence[str], j: int, sections: list[_Section], base_indent: int) -> int:
    """Frames, ``... N more``, ``Caused by:`` and ``Suppressed:`` from ``j``; returns the last line index."""
    n = len(lines)
    current = sections[-1]
    last = j - 1
    while j < n:
        line = lines[j]
        frame = _java_frame(line)
        if frame is not None:
            current.frames.append(frame)
            last = j
            j += 1
            continue
        if _JAVA_MORE.match(line):
            last = j
            j += 1
            continue
        nested = _JAVA_NESTED.match(line[:_MAX_HEADER_SCAN])
        text = _java_exception_text(nested["rest"]) if nested is not None else None
        if text is None:
            break
        # Suppressed: branches and their own causes are indented one level deeper than the chain.
        top = nested["label"] == "Caused by" and len(nested["indent"]) <= base_indent
        body = _find_body(lines, j + 1, _is_java_body_line)
        message = text[1] if body is None else _join_message(text[1], lines[j + 1:body])
        current = _Section(text[0], message, top=top)
        sections.append(current)
        if body is None:
            last = j
            break
        last = body - 1
        j = body
    return last


def _parse_java_thread_header(lines: Sequence[str], start: int) -> _Parsed | None:
    """``Exception in thread "main" X: msg`` -- taken even without frames (e.g. OutOfMemoryError)."""
    header = _java_header(lines[start])
    if header is None or header[3] is None:
        return None
    return _parse_java(lines, start, header, _find_body(lines, start + 1, _is_java_body_line))


# ----------------------------------------------------------------------------------------------
# Node.js
# ----------------------------------------------------------------------------------------------

_NODE_HEADER = re.compile(r"(?P<type>[A-Z][\w$]*+)(?: \[(?P<code>[^\]]*+)\])?(?::(?: (?P<msg>.*+))?)?$")
_NODE_LOCATION = re.compile(r"(?P<file>.+):(?P<line>\d+):\d+$")
_NODE_CAUSE = re.compile(r"[ \t]*+\[cause\]: (?P<header>.*+)$")
_NODE_CAUSE_OMITTED = re.compile(r"[ \t]*+\.\.\. \d++ lines? matching cause stack trace \.\.\.$")
# An unhandled 'error' event prints where it was emitted between the frames and the trailer.
_NODE_EMITTED = "Emitted 'error' event"
_NODE_VERSION = re.compile(r"Node\.js v\d+\.\d+")
# The uncaught-error preamble: "/app/server.js:12", the source line, "    ^", a blank line.
_NODE_SOURCE_LOCATION = re.compile(r"(?:/|[A-Za-z]:\\|file:|node:|internal/)\S*:\d+$")
_CARET_ONLY = re.compile(r"[ \t]*+\^++[ \t]*+$")


def _node_frame(line: str) -> tuple[StackFrame, bool] | None:
    if len(line) > _MAX_FRAME_LINE:
        return None  # also keeps long lines out of the cache
    return _node_frame_cached(line)


@lru_cache(maxsize=_FRAME_CACHE_SIZE)
def _node_frame_cached(line: str) -> tuple[StackFrame, bool] | None:
    """(frame, opens a ``{ ... }`` properties trailer) for a ``    at ...`` line."""
    if _AT_PREFIX.match(line) is None:
        return None
    rest = line.strip()[3:]
    opens = rest.endswith(" {")
    if opens:
        rest = rest[:-2]
    paren = rest.find(" (")
    if paren > 0 and rest.endswith(")"):
        function, location = rest[:paren], rest[paren + 2:-1]
    else:
        function, location = None, rest.removeprefix("async ")
    where = _NODE_LOCATION.match(location)
    if where is not None:
        file, number = where["file"], int(where["line"])
    elif function is not None and (location in ("native", "<anonymous>") or location.startswith("index ")):
        file, number = location, None
    else:
        return None
    return StackFrame(file, number, function, _node_is_app(file)), opens


def _node_header(line: str) -> tuple[str, str] | None:
    match = _NODE_HEADER.match(line[:_MAX_HEADER_SCAN])
    if match is None:
        return None
    type_ = match["type"]
    if len(type_) > _MAX_TYPE_LENGTH or not type_.endswith(("Error", "Exception")):
        return None
    if match["code"]:
        type_ = f"{type_} [{match['code']}]"
    return type_, match["msg"] or ""


def _has_node_preamble(lines: Sequence[str], header_index: int, floor: int) -> bool:
    h = header_index
    return (h - 4 >= floor and not lines[h - 1].strip() and _CARET_ONLY.match(lines[h - 2]) is not None
            and len(lines[h - 4]) <= _MAX_FRAME_LINE and _NODE_SOURCE_LOCATION.match(lines[h - 4]) is not None)


def _parse_node(lines: Sequence[str], header_index: int, header: tuple[str, str], first_frame: int,
                floor: int) -> _Parsed:
    n = len(lines)
    message = _join_message(header[1], lines[header_index + 1:first_frame])
    sections = [_Section(header[0], message)]
    extra: list[str] = []
    end = _parse_node_body(lines, first_frame, sections, extra)
    start, fatal = header_index, 1
    if _has_node_preamble(lines, header_index, floor):
        start, fatal = header_index - 4, 2
    # Node prints its version after the report of an uncaught error.
    k = end + 1
    if k < n and not lines[k].strip():
        k += 1
    if k < n and _NODE_VERSION.match(lines[k]):
        end, fatal = k, 2
    root = sections[-1]  # the deepest [cause], as for Java
    return _Parsed("node", start, end, sections, root, sections[::-1], innermost_first=True,
                   extra_text="\n".join(extra), fatal_hint=fatal)


def _parse_node_body(lines: Sequence[str], j: int, sections: list[_Section], extra: list[str]) -> int:
    n = len(lines)
    current = sections[-1]
    last = j - 1
    while j < n:
        found = _node_frame(lines[j])
        if found is not None:
            current.frames.append(found[0])
            last = j
            j += 1
            if found[1]:
                closing = _parse_node_props(lines, j, sections, extra)
                if closing is not None:
                    last = closing
                break  # the properties trailer ends the report
            continue
        if _NODE_CAUSE_OMITTED.match(lines[j]) or lines[j].startswith(_NODE_EMITTED):
            last = j
            j += 1
            continue
        break
    return last


def _parse_node_props(lines: Sequence[str], j: int, sections: list[_Section], extra: list[str]) -> int | None:
    """The ``{ code: ..., [cause]: ... }`` trailer up to its ``}``; returns the closing line's index."""
    causes: list[_Section] = []
    props: list[str] = []
    current: _Section | None = None
    for k in range(j, min(len(lines), j + _MAX_PROPS_LINES)):
        line = lines[k]
        if line.rstrip() == "}":
            sections.extend(causes)
            extra.extend(props)
            return k
        cause = _NODE_CAUSE.match(line[:_MAX_HEADER_SCAN])
        header = _node_header(cause["header"].removesuffix(" {")) if cause is not None else None
        if header is not None:
            current = _Section(header[0], header[1])
            causes.append(current)
            continue
        found = _node_frame(line)
        if found is not None:
            if current is not None:
                current.frames.append(found[0])
            continue
        stripped = line.strip()
        if _node_header(stripped) is not None:
            current = None  # a member of AggregateError's [errors]: text for classification only
        props.append(stripped)
    return None


# ----------------------------------------------------------------------------------------------
# Go
# ----------------------------------------------------------------------------------------------

_GO_STARTS = ("panic: ", "fatal error: ")
_GO_START = re.compile(r"(?P<kind>panic|fatal error): (?P<msg>.*+)$")
_GO_NESTED_PANIC = re.compile(r"[ \t]++panic: (?P<msg>.*+)$")
_GO_RECOVERED = re.compile(r" \[recovered(?:, repanicked)?\]$")
_GO_GOROUTINE = re.compile(r"goroutine \d++ [^\n]*\]:$")
_GO_FILE_LINE = re.compile(r"\t(?P<file>\S[^\t]*?):(?P<line>\d++)(?:[ \t].*+)?$")
_GO_EXIT = re.compile(r"exit status \d++$")


def _is_go_trace_start(line: str) -> bool:
    return line == "runtime stack:" or (len(line) <= _MAX_FRAME_LINE and _GO_GOROUTINE.match(line) is not None)


def _go_frame(function_line: str, file_line: str) -> StackFrame | None:
    if len(function_line) > _MAX_FRAME_LINE or len(file_line) > _MAX_FRAME_LINE:
        return None  # also keeps long lines out of the cache
    return _go_frame_cached(function_line, file_line)


@lru_cache(maxsize=_FRAME_CACHE_SIZE)
def _go_frame_cached(function_line: str, file_line: str) -> StackFrame | None:
    where = _GO_FILE_LINE.match(file_line)
    if where is None or not function_line or function_line[0] in _INDENT:
        return None
    if function_line.startswith("created by "):
        function = function_line[len("created by "):].split(" in goroutine ", 1)[0]
    elif function_line.endswith(")") and "(" in function_line:
        function = function_line[:function_line.rfind("(")]
    else:
        return None
    file = where["file"]
    return StackFrame(file, int(where["line"]), function, _go_is_app(file, function))


def _parse_go(lines: Sequence[str], start: int) -> _Parsed | None:
    n = len(lines)
    first = _GO_START.match(lines[start][:_MAX_HEADER_SCAN])
    if first is None:
        return None
    chain = [_Section(first["kind"], _GO_RECOVERED.sub("", first["msg"]))]
    j = start + 1
    while j < n and j - start <= _MAX_MESSAGE_LINES:
        line = lines[j]
        nested = _GO_NESTED_PANIC.match(line[:_MAX_HEADER_SCAN])
        if nested is not None:  # panic: A [recovered] / \tpanic: B
            chain.append(_Section("panic", _GO_RECOVERED.sub("", nested["msg"])))
        elif line.startswith("[signal "):
            pass
        elif not line.strip() or _is_go_trace_start(line) or _LOG_RECORD_START.match(line):
            break
        else:
            chain[-1].message += "\n" + line  # a panic value printed over several lines
        j += 1
    while j < n and j - start <= _MAX_MESSAGE_LINES and not lines[j].strip():
        j += 1
    if j >= n or not _is_go_trace_start(lines[j]):
        return None  # no goroutine trace: a log line that merely starts with "panic:"
    goroutines: list[list[StackFrame]] = []
    end = j
    while j < n:
        line = lines[j]
        if _is_go_trace_start(line):
            goroutines.append([])
            end = j
            j += 1
            continue
        frame = _go_frame(line, lines[j + 1]) if j + 1 < n else None
        if frame is not None:
            goroutines[-1].append(frame)
            end = j + 1
            j += 2
            continue
        if line == "...additional frames elided...":
            end = j
            j += 1
            continue
        if not line.strip() and j + 1 < n and (_is_go_trace_start(lines[j + 1]) or _GO_EXIT.match(lines[j + 1])):
            j += 1
            continue
        if _GO_EXIT.match(line):  # printed by `go run`
            end = j
        break
    root = chain[-1]  # the last panic is the one that was not recovered
    root.frames = goroutines[0]
    others = [_Section(root.type, root.message, frames) for frames in goroutines[1:]]
    return _Parsed("go", start, end, chain, root, [root, *others], innermost_first=True, fatal_hint=2)


# ----------------------------------------------------------------------------------------------
# Classification
# ----------------------------------------------------------------------------------------------

# Keyword tests are plain substring tests on the lower-cased text of the chain: linear and cheap.
_PERMISSION_DENIED = ("permission denied", "eacces", "accessdeniedexception", "permissionerror")
_ADDRESS_IN_USE = ("address already in use", "eaddrinuse")
_CONNECTION_REFUSED = ("connection refused", "connectionrefused", "econnrefused", "connectexception")
_TIMEOUT = ("timed out", "deadline exceeded", "deadline_exceeded", "deadlineexceeded", "etimedout")
# "Timeout" as a word or CamelCase part (SocketTimeoutException, TimeoutError, "timeout expired"), but not
# a field name such as request_timeout in "1 validation error for Settings\nrequest_timeout\n  Field required".
_TIMEOUT_WORD = re.compile(r"Timeout|TIMEOUT|(?<![\w])timeout(?![_\w])")
_MISSING_CONFIG_PHRASES = ("environment variable", "missing required")
_NOT_SET = re.compile(r"\bnot set\b")
_CONFIG_ERROR_TYPE = re.compile(r"Config(?:uration)?(?:Validation)?(?:Error|Exception)\b")
_ENV_VAR_NAME = re.compile(r"""['"]?[A-Z][A-Z0-9_]{2,}['"]?""")
_SETTINGS_HINTS = ("field required", "settings", "config")
_CONFIG_PATH_HINT = re.compile(
    r"conf|settings|secret|credential|\.env\b|\.ya?ml\b|\.json\b|\.toml\b|\.ini\b|\.properties\b|\.cfg\b"
)
_STARTUP_PHRASES = (
    "not initialized", "not initialised", "failed to start", "exceptionininitializererror", "could not initialize class",
)


def _has_any(text: str, needles: tuple[str, ...]) -> bool:
    return any(needle in text for needle in needles)


def _classify(parsed: _Parsed) -> str | None:
    text = "\n".join(f"{section.type}: {section.message}" for section in parsed.chain)
    if parsed.extra_text:
        text = f"{text}\n{parsed.extra_text}"
    lower = text.lower()
    if _has_any(lower, _PERMISSION_DENIED):
        return CATEGORY_PERMISSION_DENIED
    if _has_any(lower, _ADDRESS_IN_USE):
        return CATEGORY_ADDRESS_IN_USE
    if _has_any(lower, _CONNECTION_REFUSED):
        return CATEGORY_CONNECTION_REFUSED
    if _has_any(lower, _TIMEOUT) or ("timeout" in lower and _TIMEOUT_WORD.search(text)):
        return CATEGORY_TIMEOUT
    if _is_missing_config(parsed, text, lower):
        return CATEGORY_MISSING_CONFIG
    if _is_startup(parsed, lower):
        return CATEGORY_STARTUP
    return None


def _is_missing_config(parsed: _Parsed, text: str, lower: str) -> bool:
    if _has_any(lower, _MISSING_CONFIG_PHRASES) or ("not set" in lower and _NOT_SET.search(lower)):
        return True
    if "config" in lower and _CONFIG_ERROR_TYPE.search(text):
        return True
    for section in parsed.chain:
        message = section.message.strip()
        if section.type.endswith("KeyError") and _ENV_VAR_NAME.fullmatch(message):
            return True
        lower_message = message.lower()
        if section.type.endswith("ValidationError") and _has_any(lower_message, _SETTINGS_HINTS):
            return True  # pydantic-settings: "1 validation error for Settings ... Field required"
        if "no such file or directory" in lower_message and _CONFIG_PATH_HINT.search(lower_message):
            return True
    return False


def _is_startup(parsed: _Parsed, lower: str) -> bool:
    if _has_any(lower, _STARTUP_PHRASES):
        return True
    is_startup_frame = _STARTUP_FRAME_TESTS[parsed.language]
    return any(is_startup_frame(frame) for section in parsed.chain for frame in section.frames)


def _python_startup_frame(frame: StackFrame) -> bool:
    # Raised while a module was being imported, or while uvicorn was loading the app.
    return ("importlib._bootstrap" in frame.file or frame.function == "_call_with_frames_removed"
            or ("uvicorn" in frame.file and frame.function in ("import_from_string", "load")))


def _java_startup_frame(frame: StackFrame) -> bool:
    return (frame.function or "").endswith(".<clinit>")  # a static initialiser


def _go_startup_frame(frame: StackFrame) -> bool:
    function = frame.function or ""
    return function == "main.init" or function.startswith(("main.init.", "runtime.doInit"))


def _node_startup_frame(frame: StackFrame) -> bool:
    return frame.function == "Module._compile"  # top-level code of a CommonJS module


_STARTUP_FRAME_TESTS: dict[str, Callable[[StackFrame], bool]] = {
    "python": _python_startup_frame,
    "java": _java_startup_frame,
    "go": _go_startup_frame,
    "node": _node_startup_frame,
}


# ----------------------------------------------------------------------------------------------
# Scanning and the public functions
# ----------------------------------------------------------------------------------------------

def _split_lines(text: str) -> tuple[list[str], list[str]]:
    """(verbatim lines, lines to parse): the latter without kubectl's --timestamps prefix."""
    raw = text.replace("\r\n", "\n").split("\n")
    first = next((line for line in raw if line.strip()), "")
    if not _KUBECTL_TIMESTAMP.match(first):
        return raw, raw
    parse = []
    for line in raw:
        stamp = _KUBECTL_TIMESTAMP.match(line)
        parse.append(line[stamp.end():] if stamp else line)
    return raw, parse


def _parse_from_frame(lines: Sequence[str], index: int, floor: int) -> tuple[_Parsed | None, int]:
    """A Java or Node block found at its first frame line; (block or None, next index to scan)."""
    line = lines[index]
    if _java_frame(line) is not None:
        found = _find_header(lines, index, floor, _java_header)
        if found is not None:
            return _parse_java(lines, found[0], found[1], index), index + 1
        is_orphan = lambda text: _java_frame(text) is not None or _JAVA_MORE.match(text) is not None  # noqa: E731
    elif _node_frame(line) is not None:
        found = _find_header(lines, index, floor, _node_header)
        if found is not None:
            return _parse_node(lines, found[0], found[1], index, floor), index + 1
        is_orphan = lambda text: _node_frame(text) is not None  # noqa: E731
    else:
        return None, index + 1
    # Frames without a header (cut off, or a thread dump): skip them all so that each is not
    # looked back from again; a later "Caused by:" still starts its own block.
    index += 1
    while index < len(lines) and is_orphan(lines[index]):
        index += 1
    return None, index


def _scan(text: str) -> list[tuple[ExtractedException, int]]:
    if not text or not isinstance(text, str):
        return []
    raw, lines = _split_lines(text)
    found: list[tuple[ExtractedException, int]] = []
    n = len(lines)
    floor = 0  # first line not yet part of a block
    i = 0
    while i < n:
        line = lines[i]
        parsed: _Parsed | None = None
        next_index = i + 1
        if _PY_TRACEBACK in line:
            parsed = _parse_python_group(lines, i) if _PY_GROUP_TRACEBACK in line else _parse_python(lines, i)
        elif line.startswith(_GO_STARTS):
            parsed = _parse_go(lines, i)
        elif line.startswith(_JAVA_THREAD_START):
            parsed = _parse_java_thread_header(lines, i)
        elif line[:1] in _INDENT and line[:1] and _AT_PREFIX.match(line):
            parsed, next_index = _parse_from_frame(lines, i, floor)
        if parsed is not None:
            found.append((_to_public(parsed, raw), parsed.fatal_hint))
            i = floor = parsed.end + 1
        else:
            i = next_index
    return found


_IMPORT_MACHINERY_FUNCTIONS = frozenset({
    "_call_with_frames_removed", "_gcd_import", "import_module", "exec_module", "import_from_string",
})


def _is_import_machinery(frame: StackFrame) -> bool:
    return "importlib" in frame.file or frame.function in _IMPORT_MACHINERY_FUNCTIONS


def _module_level_frame(frames: Sequence[StackFrame]) -> StackFrame | None:
    """The deepest app ``<module>`` frame whose module-level code raised (Python frames, outermost first).

    It counts when the module was being imported (an outer ``<module>`` or import-machinery frame,
    e.g. uvicorn loading ``pkg.mod:app``), or when no app frame runs below it (top-level code called
    a library that raised).  The entry script's ``<module>`` that merely called ``main()`` does not:
    otherwise nearly every ``python main.py`` crash would look like an import-time failure.
    """
    for index in range(len(frames) - 1, -1, -1):
        frame = frames[index]
        if not frame.is_app or frame.function != "<module>":
            continue
        imported = any(outer.function == "<module>" or _is_import_machinery(outer) for outer in frames[:index])
        app_below = any(inner.is_app for inner in frames[index + 1:])
        if imported or not app_below:
            return frame
    return None


def _to_public(parsed: _Parsed, raw: Sequence[str]) -> ExtractedException:
    app_printed: list[StackFrame] = []
    for section in parsed.search_order:
        app_printed = [frame for frame in section.frames if frame.is_app]
        if app_printed:
            break
    app_frames = app_printed[::-1] if parsed.innermost_first else app_printed
    module_level = None
    if parsed.language == "python":
        for section in parsed.search_order:
            module_level = _module_level_frame(section.frames)
            if module_level is not None:
                break
    return ExtractedException(
        language=parsed.language,
        exception_type=parsed.root.type,
        message=parsed.root.message,
        first_line=parsed.start + 1,
        last_line=parsed.end + 1,
        lines=tuple(raw[parsed.start:parsed.end + 1]),
        frames=tuple(parsed.root.frames),
        app_frame=app_frames[-1] if app_frames else None,
        chain=tuple((section.type, section.message) for section in parsed.chain),
        category=_classify(parsed),
        app_frames=tuple(app_frames),
        module_level_frame=module_level,
    )


def extract_exceptions(text: str) -> list[ExtractedException]:
    """Every exception printout in ``text``, in order. Never raises for any ``str``."""
    return [exception for exception, _ in _scan(text)]


def last_exception(text: str) -> ExtractedException | None:
    """The exception that most likely killed the process.

    The last block, preferring the runtimes' own uncaught-error reports (Go panics, Node's
    report with its preamble or version line, Java's ``Exception in thread "main"``) over
    exceptions that may only have been logged, and skipping Python reports known not to end
    the process (``Exception in thread ...``, ``Exception ignored in ...``) when there is another.
    """
    found = _scan(text)
    if not found:
        return None
    best = max(hint for _, hint in found)
    return next(exception for exception, hint in reversed(found) if hint == best)
