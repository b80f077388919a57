"""Tests for runbooks_lib.log_exceptions (the exception that killed a container, from its log)."""

from __future__ import annotations

import dataclasses
import time
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from runbooks_lib.log_exceptions import (
    CATEGORIES,
    CATEGORY_ADDRESS_IN_USE,
    CATEGORY_CONNECTION_REFUSED,
    CATEGORY_DESCRIPTIONS,
    CATEGORY_MISSING_CONFIG,
    CATEGORY_PERMISSION_DENIED,
    CATEGORY_STARTUP,
    CATEGORY_TIMEOUT,
    ExtractedException,
    StackFrame,
    extract_exceptions,
    last_exception,
)

LOGS = Path(__file__).parent / "data" / "logs"


def read_log(name: str) -> str:
    return (LOGS / name).read_text(encoding="utf-8")


def line_of(text: str, needle: str, start: int = 1) -> int:
    """1-based number of the first line at/after ``start`` containing ``needle``."""
    for number, line in enumerate(text.split("\n"), 1):
        if number >= start and needle in line:
            return number
    raise AssertionError(f"{needle!r} not in text")


def only(text: str) -> ExtractedException:
    found = extract_exceptions(text)
    assert len(found) == 1, [(e.exception_type, e.first_line) for e in found]
    return found[0]


def assert_lines_verbatim(text: str, exc: ExtractedException) -> None:
    assert exc.lines == tuple(text.split("\n")[exc.first_line - 1:exc.last_line])


def located(frame: StackFrame | None) -> tuple | None:
    return None if frame is None else (frame.file.rsplit("/", 1)[-1], frame.line, frame.function)


# --------------------------------------------------------------------------- #
# Python
# --------------------------------------------------------------------------- #

class TestPythonUvicornImportCrash:
    """uvicorn imports the app module; its module-level logger.info() hits an uninitialised telemetry."""

    text = read_log("python_uvicorn_import_crash.log")

    def test_root_is_the_final_exception_and_chain_is_in_printed_order(self):
        exc = only(self.text)
        assert exc.language == "python"
        assert exc.exception_type == "RuntimeError"
        assert exc.message == "Observability not initialized. Call init_observability() first."
        assert exc.chain == (
            ("KeyError", "'logger'"),
            ("RuntimeError", "Observability not initialized. Call init_observability() first."),
        )

    def test_block_spans_both_tracebacks(self):
        exc = only(self.text)
        assert exc.first_line == 2  # line 1 is the shell's "+ exec uvicorn ..."
        assert exc.last_line == len(self.text.rstrip("\n").split("\n"))
        assert exc.lines[0] == "Traceback (most recent call last):"
        assert exc.lines[-1].startswith("RuntimeError: Observability not initialized")
        assert_lines_verbatim(self.text, exc)

    def test_app_frame_is_the_deepest_app_frame(self):
        exc = only(self.text)
        assert exc.app_frame == StackFrame(
            "/app/src/mcp_server_langgraph/observability/telemetry.py", 1200, "_get_logger", True)

    def test_app_frames_outermost_first_and_module_level_call_site(self):
        exc = only(self.text)
        assert [located(f) for f in exc.app_frames] == [
            ("server_streamable.py", 187, "<module>"),
            ("telemetry.py", 1214, "info"),
            ("telemetry.py", 1200, "_get_logger"),
        ]
        assert exc.module_level_frame == StackFrame(
            "/app/src/mcp_server_langgraph/mcp/server_streamable.py", 187, "<module>", True)

    def test_frames_are_those_of_the_final_exception(self):
        exc = only(self.text)
        assert exc.frames[0] == StackFrame("/app/.venv/bin/uvicorn", 10, "<module>", False)
        assert exc.frames[-1].function == "_get_logger"
        by_file = {f.file: f.is_app for f in exc.frames}
        assert by_file["uvloop/loop.pyx"] is False  # Cython module of a package
        assert by_file["<frozen importlib._bootstrap>"] is False
        assert by_file["/usr/local/lib/python3.12/importlib/__init__.py"] is False
        assert by_file["/app/.venv/lib/python3.12/site-packages/uvicorn/config.py"] is False
        assert len(exc.frames) == 25

    def test_classified_as_startup(self):
        assert only(self.text).category == CATEGORY_STARTUP

    def test_last_exception_is_the_same(self):
        assert last_exception(self.text) == only(self.text)


def test_python_uvicorn_lifespan_traceback_after_log_prefix():
    text = read_log("python_uvicorn_lifespan_refused.log")
    exc = only(text)
    assert exc.first_line == 3
    assert exc.lines[0] == "ERROR:    Traceback (most recent call last):"
    assert exc.last_line == line_of(text, "ConnectionRefusedError:")  # the blank line and the next record are out
    assert exc.exception_type == "ConnectionRefusedError"
    assert exc.message == "[Errno 111] Connect call failed ('10.96.14.7', 5432)"
    assert located(exc.app_frame) == ("main.py", 41, "lifespan")
    assert exc.module_level_frame is None
    assert exc.category == CATEGORY_CONNECTION_REFUSED
    assert_lines_verbatim(text, exc)


def test_python_direct_cause_chain_with_dotted_types_and_multiline_message():
    text = read_log("python_alembic_timeout.log")
    exc = only(text)
    assert exc.chain[0][0] == "psycopg2.OperationalError"
    assert exc.exception_type == "sqlalchemy.exc.OperationalError"
    assert exc.message.startswith("(psycopg2.OperationalError) connection to server at")
    assert exc.message.endswith("\n\n(Background on this error at: https://sqlalche.me/e/20/e3q8)")
    assert exc.first_line == 3
    assert exc.last_line == line_of(text, "(Background on this error")
    assert located(exc.app_frame) == ("env.py", 58, "run_migrations_online")
    # env.py is executed by alembic through importlib: its top-level call is the module-level call site.
    assert located(exc.module_level_frame) == ("env.py", 71, "<module>")
    assert exc.category == CATEGORY_TIMEOUT


def test_python_pydantic_settings_validation_error_is_missing_config():
    text = read_log("python_pydantic_settings.log")
    exc = only(text)
    assert exc.exception_type == "pydantic_core._pydantic_core.ValidationError"
    assert exc.message.split("\n") == [
        "2 validation errors for Settings",
        "stripe_api_key",
        "  Field required [type=missing, input_value={'database_url': 'postgresql://billing@db:5432/billing'},"
        " input_type=dict]",
        "    For further information visit https://errors.pydantic.dev/2.9/v/missing",
        "redis_url",
        "  Field required [type=missing, input_value={'database_url': 'postgresql://billing@db:5432/billing'},"
        " input_type=dict]",
        "    For further information visit https://errors.pydantic.dev/2.9/v/missing",
    ]
    assert exc.last_line == 18
    assert exc.category == CATEGORY_MISSING_CONFIG
    assert located(exc.module_level_frame) == ("settings.py", 24, "<module>")  # imported by worker.py
    assert located(exc.app_frame) == ("settings.py", 24, "<module>")


class TestPythonLoggedThenFatal:
    text = read_log("python_worker_logged_then_fatal.log")

    def test_all_three_blocks_in_order(self):
        found = extract_exceptions(self.text)
        assert [(e.exception_type, e.first_line, e.last_line) for e in found] == [
            ("jinja2.exceptions.UndefinedError", 3, 13),
            ("BrokenPipeError", 16, 23),
            ("PermissionError", 25, 33),
        ]
        for exc in found:
            assert_lines_verbatim(self.text, exc)

    def test_logged_traceback_message_stops_at_the_next_log_record(self):
        first = extract_exceptions(self.text)[0]
        assert first.message == "'None' has no attribute 'street'"
        assert located(first.app_frame) == ("invoice.html", 12, "top-level template code")

    def test_last_is_the_fatal_one_and_classified(self):
        exc = last_exception(self.text)
        assert exc is not None and exc.exception_type == "PermissionError"
        assert exc.category == CATEGORY_PERMISSION_DENIED
        assert located(exc.app_frame) == ("checkpoint.py", 30, "save")

    def test_entry_script_calling_main_is_not_a_module_level_failure(self):
        exc = last_exception(self.text)
        assert exc.app_frames[0].function == "<module>"
        assert exc.module_level_frame is None

    def test_thread_exception_printed_last_is_not_the_killer(self):
        lines = self.text.split("\n")
        thread_block = "\n".join(lines[13:23])  # "Exception in thread heartbeat:" + its traceback
        text = "\n".join(lines[:13]) + "\n" + thread_block + "\n"
        assert [e.exception_type for e in extract_exceptions(text)] == [
            "jinja2.exceptions.UndefinedError", "BrokenPipeError"]
        assert last_exception(text).exception_type == "jinja2.exceptions.UndefinedError"


def test_python_exception_group():
    text = read_log("python_exception_group.log")
    exc = only(text)
    assert exc.exception_type == "ExceptionGroup"
    assert exc.message == "unhandled errors in a TaskGroup (2 sub-exceptions)"
    assert exc.chain == (
        ("ExceptionGroup", "unhandled errors in a TaskGroup (2 sub-exceptions)"),
        ("TimeoutError", ""),
        ("ValueError", "unknown warehouse 'eu-3'"),
    )
    assert (exc.first_line, exc.last_line) == (2, 36)
    assert located(exc.app_frame) == ("pull.py", 21, "pull_orders")  # from the first failing task
    assert exc.frames[0] == StackFrame("/app/sync/main.py", 40, "<module>", True)
    assert exc.category == CATEGORY_TIMEOUT


PY_KEYERROR_ENV = """\
Traceback (most recent call last):
  File "/app/app.py", line 7, in <module>
    DATABASE_URL = os.environ["DATABASE_URL"]
                   ~~~~~~~~~~^^^^^^^^^^^^^^^^
  File "<frozen os>", line 714, in __getitem__
KeyError: 'DATABASE_URL'
"""


def test_python_keyerror_on_env_var_at_module_level():
    exc = only(PY_KEYERROR_ENV)
    assert (exc.exception_type, exc.message) == ("KeyError", "'DATABASE_URL'")
    assert exc.category == CATEGORY_MISSING_CONFIG
    # top-level code of the entry script called into the stdlib, which raised
    assert located(exc.module_level_frame) == ("app.py", 7, "<module>")
    assert exc.frames[1].is_app is False


def test_python_keyerror_on_ordinary_key_is_not_missing_config():
    exc = only(PY_KEYERROR_ENV.replace("'DATABASE_URL'", "'customer_id'"))
    assert exc.category is None


PY_SYNTAX_ERROR_AT_IMPORT = """\
Traceback (most recent call last):
  File "/app/manage.py", line 22, in <module>
    main()
  File "/app/manage.py", line 18, in main
    execute_from_command_line(sys.argv)
  File "/usr/local/lib/python3.12/site-packages/django/conf/__init__.py", line 185, in __init__
    mod = importlib.import_module(self.SETTINGS_MODULE)
          ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "/usr/local/lib/python3.12/importlib/__init__.py", line 90, in import_module
    return _bootstrap._gcd_import(name[level:], package, level)
           ^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^^
  File "<frozen importlib._bootstrap>", line 1387, in _gcd_import
  File "<frozen importlib._bootstrap>", line 1360, in _find_and_load
  File "<frozen importlib._bootstrap>", line 1331, in _find_and_load_unlocked
  File "<frozen importlib._bootstrap>", line 935, in _load_unlocked
  File "<frozen importlib._bootstrap_external>", line 991, in exec_module
  File "<frozen importlib._bootstrap_external>", line 1129, in get_code
  File "<frozen importlib._bootstrap_external>", line 1059, in source_to_code
  File "<frozen importlib._bootstrap>", line 488, in _call_with_frames_removed
  File "/app/shop/settings.py", line 88
    DATABASES = {
                ^
SyntaxError: '{' was never closed
"""


def test_python_syntax_error_frame_without_function():
    exc = only(PY_SYNTAX_ERROR_AT_IMPORT)
    assert (exc.exception_type, exc.message) == ("SyntaxError", "'{' was never closed")
    assert exc.app_frame == StackFrame("/app/shop/settings.py", 88, None, True)
    assert exc.category == CATEGORY_STARTUP  # through importlib
    assert exc.module_level_frame is None  # manage.py only called main(); settings.py has no <module> frame


def test_python_recursion_summary_line_and_bare_exception_type():
    text = """\
Traceback (most recent call last):
  File "/app/tree.py", line 9, in <module>
    walk(root)
  File "/app/tree.py", line 5, in walk
    return walk(node.parent)
           ^^^^^^^^^^^^^^^^^
  [Previous line repeated 996 more times]
RecursionError: maximum recursion depth exceeded
"""
    exc = only(text)
    assert exc.exception_type == "RecursionError"
    assert exc.last_line == 8
    bare = only(text.replace("RecursionError: maximum recursion depth exceeded", "KeyboardInterrupt"))
    assert (bare.exception_type, bare.message) == ("KeyboardInterrupt", "")


def test_python_address_in_use():
    text = """\
Traceback (most recent call last):
  File "/srv/metrics/exporter.py", line 31, in <module>
    start_http_server(9100)
  File "/usr/local/lib/python3.11/site-packages/prometheus_client/exposition.py", line 228, in start_wsgi_server
    httpd = make_server(addr, port, app, TmpServer, handler_class=_SilentHandler)
  File "/usr/local/lib/python3.11/socketserver.py", line 466, in server_bind
    self.socket.bind(self.server_address)
OSError: [Errno 98] Address already in use
"""
    exc = only(text)
    assert exc.category == CATEGORY_ADDRESS_IN_USE
    assert located(exc.module_level_frame) == ("exporter.py", 31, "<module>")


def test_python_per_line_prefix_is_stripped_for_parsing_but_kept_in_lines():
    base = read_log("python_uvicorn_lifespan_refused.log")
    text = "\n".join(f"[pod/orders-7c9d/api] {line}" for line in base.split("\n"))
    exc = only(text)
    assert exc.exception_type == "ConnectionRefusedError"
    assert located(exc.app_frame) == ("main.py", 41, "lifespan")
    assert exc.lines[1].startswith("[pod/orders-7c9d/api]   File ")
    assert_lines_verbatim(text, exc)


def test_kubectl_timestamps_are_tolerated():
    base = read_log("python_uvicorn_import_crash.log")
    text = "\n".join(f"2025-11-06T16:21:04.{i:09d}Z {line}" for i, line in enumerate(base.split("\n")))
    exc = only(text)
    assert exc.exception_type == "RuntimeError"
    assert located(exc.module_level_frame) == ("server_streamable.py", 187, "<module>")
    assert exc.lines[0].endswith("Z Traceback (most recent call last):")


def test_crlf_line_endings():
    text = read_log("python_uvicorn_lifespan_refused.log").replace("\n", "\r\n")
    exc = only(text)
    assert exc.first_line == 3 and exc.exception_type == "ConnectionRefusedError"
    assert not exc.lines[0].endswith("\r")


def test_python_truncated_traceback_is_not_reported():
    text = "\n".join(read_log("python_uvicorn_lifespan_refused.log").split("\n")[:12])
    assert extract_exceptions(text) == []


def test_python_traceback_inside_json_log_line_is_not_reported():
    text = ('{"level":"error","exc_info":"Traceback (most recent call last):\\n  File \\"/app/x.py\\", line 3,'
            ' in <module>\\nValueError: bad"}\n')
    assert extract_exceptions(text) == []


# --------------------------------------------------------------------------- #
# Java
# --------------------------------------------------------------------------- #

class TestJavaKeycloakJGroups:
    text = read_log("java_keycloak_jgroups_timeout.log")

    def test_root_is_the_deepest_cause(self):
        exc = only(self.text)
        assert exc.language == "java"
        assert exc.exception_type == "java.net.SocketTimeoutException"
        assert exc.message == "connect timed out"

    def test_chain_outermost_first(self):
        exc = only(self.text)
        assert [t for t, _ in exc.chain] == [
            "org.infinispan.manager.EmbeddedCacheManagerStartupException",
            "org.infinispan.commons.CacheException",
            "org.infinispan.commons.CacheException",
            "java.lang.Exception",
            "java.net.SocketTimeoutException",
        ]
        assert exc.chain[3] == ("java.lang.Exception", 'connecting to channel "ISPN" failed')

    def test_block_starts_at_the_exception_line_after_the_log_record(self):
        exc = only(self.text)
        assert exc.first_line == line_of(self.text, "org.infinispan.manager.EmbeddedCacheManagerStartupException")
        assert exc.first_line == 7
        assert exc.last_line == line_of(self.text, "... 24 more")
        assert_lines_verbatim(self.text, exc)

    def test_frames_of_root_cause_with_module_prefix_stripped(self):
        exc = only(self.text)
        assert exc.frames[0] == StackFrame(
            "NioSocketImpl.java", 546, "sun.nio.ch.NioSocketImpl.timedFinishConnect", False)
        assert exc.frames[4] == StackFrame("Util.java", 4215, "org.jgroups.util.Util.connect", False)
        assert len(exc.frames) == 11

    def test_app_frame_falls_back_outwards_to_keycloak_code(self):
        exc = only(self.text)
        # Neither JGroups nor Infinispan is "the application"; the first Keycloak frame is.
        assert exc.app_frame == StackFrame(
            "CacheManagerFactory.java", 262,
            "org.keycloak.quarkus.runtime.storage.infinispan.CacheManagerFactory.startEmbeddedCacheManager", True)
        assert exc.app_frames[-1] == exc.app_frame
        assert exc.app_frames[0].function.endswith("lambda$new$0")  # outermost first
        assert exc.module_level_frame is None

    def test_classified_as_timeout(self):
        assert only(self.text).category == CATEGORY_TIMEOUT


class TestJavaMainThreadWithSuppressed:
    text = read_log("java_main_thread_suppressed.log")

    def test_root_chain_and_suppressed_branch(self):
        exc = only(self.text)
        assert exc.exception_type == "java.nio.file.AccessDeniedException"
        assert exc.message == "/etc/ledger/rates.csv"
        assert exc.chain == (
            ("java.io.UncheckedIOException", "failed to load /etc/ledger/rates.csv"),
            ("java.nio.file.AccessDeniedException", "/etc/ledger/rates.csv"),
        )  # Suppressed: is not part of the cause chain
        assert (exc.first_line, exc.last_line) == (3, 20)
        assert exc.app_frame == StackFrame("RateTable.java", 49, "com.acme.ledger.rates.RateTable.load", True)
        assert exc.category == CATEGORY_PERMISSION_DENIED

    def test_main_thread_death_beats_a_later_logged_exception(self):
        later = ("12:04:55.610 [shutdown-hook] ERROR com.acme.ledger.Main - flush failed\n"
                 "java.lang.IllegalStateException: pool closed\n"
                 "\tat com.acme.ledger.db.Pool.borrow(Pool.java:77)\n")
        text = self.text + later
        assert [e.exception_type for e in extract_exceptions(text)] == [
            "java.nio.file.AccessDeniedException", "java.lang.IllegalStateException"]
        assert last_exception(text).exception_type == "java.nio.file.AccessDeniedException"


JAVA_STATIC_INIT = """\
Exception in thread "main" java.lang.ExceptionInInitializerError
\tat com.acme.ledger.Main.main(Main.java:14)
Caused by: java.lang.IllegalStateException: LEDGER_DB_URL is not set
\tat com.acme.ledger.config.Env.require(Env.java:31)
\tat com.acme.ledger.db.Database.<clinit>(Database.java:22)
\t... 1 more
"""


def test_java_static_initialiser_missing_env_var_is_missing_config():
    exc = only(JAVA_STATIC_INIT)
    assert exc.exception_type == "java.lang.IllegalStateException"
    assert exc.app_frame == StackFrame("Env.java", 31, "com.acme.ledger.config.Env.require", True)
    assert exc.category == CATEGORY_MISSING_CONFIG  # missing-config is tested before startup


def test_java_static_initialiser_is_startup():
    exc = only(JAVA_STATIC_INIT.replace("LEDGER_DB_URL is not set", "unsupported rounding mode HALF_ODD"))
    assert exc.category == CATEGORY_STARTUP


def test_java_header_at_the_end_of_a_log_line_and_connect_exception():
    text = """\
2025-11-06 16:21:04,553 INFO  [io.quarkus] (main) Keycloak 26.0.5 on JVM (powered by Quarkus 3.15.1) stopped in 0.041s
2025-11-06 16:21:04,553 ERROR [org.keycloak.quarkus.runtime.cli.ExecutionExceptionHandler] (main) Error details:: java.lang.RuntimeException: Failed to start quarkus
\tat io.quarkus.runner.ApplicationImpl.doStart(Unknown Source)
\tat io.quarkus.runtime.Application.start(Application.java:101)
\tat org.keycloak.quarkus.runtime.KeycloakMain.start(KeycloakMain.java:145)
\tat org.keycloak.quarkus.runtime.cli.command.AbstractStartCommand.run(AbstractStartCommand.java:49)
Caused by: org.postgresql.util.PSQLException: Connection to keycloak-db:5432 refused. Check that the hostname and port are correct and that the postmaster is accepting TCP/IP connections.
\tat org.postgresql.core.v3.ConnectionFactoryImpl.openConnectionImpl(ConnectionFactoryImpl.java:352)
\tat org.postgresql.Driver.connect(Driver.java:304)
\t... 12 more
Caused by: java.net.ConnectException: Connection refused
\tat java.base/sun.nio.ch.Net.pollConnect(Native Method)
\tat java.base/sun.nio.ch.Net.pollConnectNow(Net.java:682)
\t... 20 more
2025-11-06 16:21:04,560 INFO  [io.quarkus] (main) Keycloak stopped
"""
    exc = only(text)
    assert exc.first_line == 2
    assert exc.last_line == line_of(text, "... 20 more")
    assert exc.chain[0] == ("java.lang.RuntimeException", "Failed to start quarkus")
    assert exc.exception_type == "java.net.ConnectException"
    assert exc.frames[0] == StackFrame("Native Method", None, "sun.nio.ch.Net.pollConnect", False)
    assert exc.app_frame.function == "org.keycloak.quarkus.runtime.KeycloakMain.start"
    assert exc.category == CATEGORY_CONNECTION_REFUSED


def test_java_logback_frames_and_multiline_cause_message():
    text = """\
2025-11-06 16:21:04.553 ERROR 1 --- [           main] o.s.boot.SpringApplication               : Application run failed
org.springframework.beans.factory.BeanCreationException: Error creating bean with name 'paymentClient'
\tat org.springframework.beans.factory.support.AbstractAutowireCapableBeanFactory.doCreateBean(AbstractAutowireCapableBeanFactory.java:606) ~[spring-beans-6.1.3.jar!/:6.1.3]
\tat com.acme.pay.PaymentApplication.main(PaymentApplication.java:12) ~[!/:0.9.1]
Caused by: com.acme.pay.client.ClientConfigException: invalid endpoint
  expected: https://host[:port]
  got: ${PAY_ENDPOINT}
\tat com.acme.pay.client.PaymentClient.<init>(PaymentClient.java:40) ~[!/:0.9.1]
\tat java.base/jdk.internal.reflect.DirectConstructorHandleAccessor.newInstance(DirectConstructorHandleAccessor.java:62) ~[na:na]
\t... 19 common frames omitted
"""
    exc = only(text)
    assert exc.exception_type == "com.acme.pay.client.ClientConfigException"
    assert exc.message == "invalid endpoint\n  expected: https://host[:port]\n  got: ${PAY_ENDPOINT}"
    assert exc.app_frame == StackFrame("PaymentClient.java", 40, "com.acme.pay.client.PaymentClient.<init>", True)
    assert exc.last_line == 10
    assert exc.category == CATEGORY_MISSING_CONFIG  # a *ConfigException type


def test_java_out_of_memory_without_frames():
    text = ("2025-11-06 16:21:04,553 INFO  [app] (main) warming caches\n"
            'Exception in thread "main" java.lang.OutOfMemoryError: Java heap space\n')
    exc = only(text)
    assert (exc.exception_type, exc.message, exc.first_line, exc.last_line) == (
        "java.lang.OutOfMemoryError", "Java heap space", 2, 2)
    assert exc.frames == () and exc.app_frame is None


def test_java_frame_prefixes_and_hidden_classes():
    text = """\
java.lang.IllegalArgumentException: bad id
\tat app//com.acme.orders.Ids.parse(Ids.java:17)
\tat java.base/jdk.internal.reflect.Foo$$Lambda/0x00000008000c1234.apply(Unknown Source)
\tat com.acme.orders.Api.get(Api.kt:88)
"""
    exc = only(text)
    assert [(f.function, f.file, f.line, f.is_app) for f in exc.frames] == [
        ("com.acme.orders.Ids.parse", "Ids.java", 17, True),
        ("jdk.internal.reflect.Foo$$Lambda/0x00000008000c1234.apply", "Unknown Source", None, False),
        ("com.acme.orders.Api.get", "Api.kt", 88, True),
    ]
    assert exc.app_frame.function == "com.acme.orders.Ids.parse"


def test_java_frames_without_header_are_not_reported():
    thread_dump = """\
"main" #1 prio=5 os_prio=0 cpu=512.11ms elapsed=31.20s tid=0x00007f2c tid=0x1 nid=7 waiting on condition
   java.lang.Thread.State: TIMED_WAITING (sleeping)
\tat java.lang.Thread.sleep0(java.base@21.0.5/Native Method)
\tat java.lang.Thread.sleep(java.base@21.0.5/Thread.java:509)
\tat com.acme.Main.main(Main.java:30)
"""
    assert extract_exceptions(thread_dump) == []


# --------------------------------------------------------------------------- #
# Go
# --------------------------------------------------------------------------- #

class TestGoNilPointer:
    text = read_log("go_nil_pointer.log")

    def test_panic_block(self):
        exc = only(self.text)
        assert exc.language == "go"
        assert exc.exception_type == "panic"
        assert exc.message == "runtime error: invalid memory address or nil pointer dereference"
        assert exc.chain == (("panic", exc.message),)
        assert (exc.first_line, exc.last_line) == (4, 19)
        assert exc.lines[1].startswith("[signal SIGSEGV: segmentation violation code=0x1 addr=0x0")
        assert "goroutine 23 [running]:" in exc.lines
        assert_lines_verbatim(self.text, exc)

    def test_frames_and_app_frames(self):
        exc = only(self.text)
        assert exc.frames[0] == StackFrame(
            "/go/pkg/mod/github.com/redis/go-redis/v9@v9.5.1/redis.go", 381,
            "github.com/redis/go-redis/v9.(*baseClient).process", False)
        assert exc.frames[1].line == 690  # inlined frame: no +0x offset
        assert exc.app_frame == StackFrame(
            "/src/internal/cache/client.go", 87, "github.com/acme/inventory/internal/cache.(*Client).Get", True)
        assert exc.app_frames[0] == StackFrame("/src/cmd/inventory/main.go", 74, "main.main", True)  # created by
        assert exc.category is None

    def test_json_log_lines_mentioning_errors_are_ignored(self):
        assert len(extract_exceptions(self.text)) == 1


GO_INIT_PANIC = """\
panic: regexp: Compile(`^(?P<sku>[A-Z]{3}-\\d+$`): error parsing regexp: missing closing ): `^(?P<sku>[A-Z]{3}-\\d+$`

goroutine 1 [running]:
regexp.MustCompile({0x8c1f2e, 0x18})
\t/usr/local/go/src/regexp/regexp.go:317 +0xb4
main.init()
\t/src/cmd/inventory/sku.go:9 +0x25
exit status 2
"""


def test_go_panic_in_init_is_startup_and_go_run_exit_line_is_included():
    exc = only(GO_INIT_PANIC)
    assert exc.message.startswith("regexp: Compile(")
    assert exc.frames[0].is_app is False
    assert exc.app_frame == StackFrame("/src/cmd/inventory/sku.go", 9, "main.init", True)
    assert exc.category == CATEGORY_STARTUP
    assert exc.lines[-1] == "exit status 2"


def test_go_panic_missing_config_file():
    text = """\
panic: open /etc/inventory/config.yaml: no such file or directory

goroutine 1 [running]:
main.mustLoadConfig(...)
\t/src/cmd/inventory/config.go:23
main.main()
\t/src/cmd/inventory/main.go:31 +0x1c5
"""
    exc = only(text)
    assert exc.category == CATEGORY_MISSING_CONFIG
    assert exc.app_frame.function == "main.mustLoadConfig"


def test_go_fatal_error_with_several_goroutines():
    text = """\
fatal error: concurrent map writes

goroutine 57 [running]:
github.com/acme/inventory/internal/stock.(*Index).Put(...)
\t/src/internal/stock/index.go:31
github.com/acme/inventory/internal/stock.(*Loader).apply(0xc0001c2000, {0xc0004a2000, 0x40, 0x40})
\t/src/internal/stock/loader.go:77 +0x1a5
created by github.com/acme/inventory/internal/stock.(*Loader).Start in goroutine 1
\t/src/internal/stock/loader.go:52 +0x8e

goroutine 1 [chan receive]:
main.main()
\t/src/cmd/inventory/main.go:90 +0x6b1
"""
    exc = only(text)
    assert (exc.exception_type, exc.message) == ("fatal error", "concurrent map writes")
    assert exc.last_line == 13
    assert len(exc.frames) == 3  # the crashing goroutine only
    assert exc.app_frame.function == "github.com/acme/inventory/internal/stock.(*Index).Put"


def test_go_recovered_and_repanicked_dial_error():
    text = """\
panic: dial tcp 10.96.0.12:5432: connect: connection refused [recovered]
\tpanic: dial tcp 10.96.0.12:5432: connect: connection refused

goroutine 1 [running]:
main.main.func1()
\t/src/main.go:20 +0x6a
panic({0x6c4b20?, 0xc000014090?})
\t/usr/local/go/src/runtime/panic.go:770 +0x132
main.main()
\t/src/main.go:25 +0x85
"""
    exc = only(text)
    assert exc.chain == (("panic", "dial tcp 10.96.0.12:5432: connect: connection refused"),) * 2
    assert exc.frames[1].is_app is False
    assert exc.category == CATEGORY_CONNECTION_REFUSED


def test_go_trimpath_stdlib_and_module_paths_are_not_app():
    text = """\
panic: send on closed channel

goroutine 9 [running]:
example.com/shipping/internal/queue.(*Q).Push(...)
\texample.com/shipping/internal/queue/queue.go:44
net/http.(*conn).serve(0xc000182000, {0x9a3c10, 0xc0001a4000})
\tnet/http/server.go:2092 +0x5d0
github.com/nats-io/nats.go.(*Conn).processMsg(0xc0000d8000)
\tgithub.com/nats-io/nats.go@v1.37.0/nats.go:3120 +0x45
"""
    exc = only(text)
    assert [f.is_app for f in exc.frames] == [True, False, False]


# --------------------------------------------------------------------------- #
# Node.js
# --------------------------------------------------------------------------- #

class TestNodeEconnrefused:
    text = read_log("node_econnrefused.log")

    def test_block_with_preamble_trailer_and_version_line(self):
        exc = only(self.text)
        assert exc.language == "node"
        assert (exc.exception_type, exc.message) == ("Error", "connect ECONNREFUSED 10.0.0.5:5432")
        assert exc.first_line == line_of(self.text, "node:internal/process/promises")
        assert exc.last_line == line_of(self.text, "Node.js v20.11.1")
        assert "  code: 'ECONNREFUSED'," in exc.lines
        assert_lines_verbatim(self.text, exc)

    def test_frames_and_category(self):
        exc = only(self.text)
        assert exc.frames == (StackFrame("node:net", 1595, "TCPConnectWrap.afterConnect [as oncomplete]", False),)
        assert exc.app_frame is None and exc.app_frames == ()
        assert exc.category == CATEGORY_CONNECTION_REFUSED


class TestNodeLoggedThenUncaughtWithCause:
    text = read_log("node_logged_then_uncaught_cause.log")

    def test_both_blocks(self):
        logged, uncaught = extract_exceptions(self.text)
        assert (logged.first_line, logged.last_line) == (2, 7)
        assert logged.frames[-1] == StackFrame(
            "/app/node_modules/express-async-handler/index.js", 3, None, False)
        assert logged.frames[1] == StackFrame("<anonymous>", None, "Array.map", False)
        assert located(logged.app_frame) == ("orders.js", 57, "toOrderDto")
        assert (uncaught.first_line, uncaught.last_line) == (9, 37)

    def test_root_is_the_deepest_cause(self):
        exc = last_exception(self.text)
        assert exc.exception_type == "TypeError"
        assert exc.message == "Cannot read properties of undefined (reading 'enabled')"
        assert exc.chain == (
            ("Error", "failed to load feature flags"),
            ("TypeError", "Cannot read properties of undefined (reading 'enabled')"),
        )
        assert exc.frames[0] == StackFrame("/app/src/flags.js", 11, "parseFlags", True)
        assert exc.app_frame == exc.frames[0]
        assert [located(f) for f in exc.app_frames][0] == ("server.js", 7, "Object.<anonymous>")
        assert exc.category == CATEGORY_STARTUP  # thrown while the module was being loaded

    def test_uncaught_report_beats_a_later_logged_error(self):
        text = self.text + "\nError: audit sink unavailable\n    at flush (/app/src/audit.js:14:9)\n"
        assert len(extract_exceptions(text)) == 3
        assert last_exception(text).message == "Cannot read properties of undefined (reading 'enabled')"


def test_node_module_not_found_multiline_message():
    text = """\
node:internal/modules/cjs/loader:1147
  throw err;
  ^

Error: Cannot find module 'express'
Require stack:
- /app/src/server.js
    at Module._resolveFilename (node:internal/modules/cjs/loader:1144:15)
    at Module._load (node:internal/modules/cjs/loader:985:27)
    at Module.require (node:internal/modules/cjs/loader:1235:19)
    at require (node:internal/modules/helpers:176:18)
    at Object.<anonymous> (/app/src/server.js:3:17)
    at Module._compile (node:internal/modules/cjs/loader:1376:14)
    at Function.executeUserEntryPoint [as runMain] (node:internal/modules/run_main:135:12) {
  code: 'MODULE_NOT_FOUND',
  requireStack: [ '/app/src/server.js' ]
}

Node.js v20.11.1
"""
    exc = only(text)
    assert exc.message == "Cannot find module 'express'\nRequire stack:\n- /app/src/server.js"
    assert (exc.first_line, exc.last_line) == (1, 19)
    assert located(exc.app_frame) == ("server.js", 3, "Object.<anonymous>")
    assert exc.category == CATEGORY_STARTUP


def test_node_eaddrinuse_from_unhandled_error_event():
    text = """\
node:events:497
      throw er; // Unhandled 'error' event
      ^

Error: listen EADDRINUSE: address already in use :::3000
    at Server.setupListenHandle [as _listen2] (node:net:1872:16)
    at listenInCluster (node:net:1920:12)
    at Server.listen (node:net:2008:7)
    at Object.<anonymous> (/app/dist/main.js:44:8)
Emitted 'error' event on Server instance at:
    at emitErrorNT (node:net:1899:8)
    at process.processTicksAndRejections (node:internal/process/task_queues:82:21) {
  code: 'EADDRINUSE',
  errno: -98,
  syscall: 'listen',
  address: '::',
  port: 3000
}

Node.js v20.11.1
"""
    exc = only(text)
    assert exc.last_line == 20
    assert exc.category == CATEGORY_ADDRESS_IN_USE
    assert located(exc.app_frame) == ("main.js", 44, "Object.<anonymous>")


def test_node_aggregate_error_with_code():
    text = """\
node:internal/process/promises:289
            triggerUncaughtException(err, true /* fromPromise */);
            ^

AggregateError [ECONNREFUSED]: 
    at internalConnectMultiple (node:net:1117:18)
    at afterConnectMultiple (node:net:1684:7) {
  code: 'ECONNREFUSED',
  [errors]: [
    Error: connect ECONNREFUSED ::1:6379
        at createConnectionError (node:net:1647:14)
        at afterConnectMultiple (node:net:1677:16) {
      errno: -111,
      code: 'ECONNREFUSED',
      syscall: 'connect',
      address: '::1',
      port: 6379
    }
  ]
}

Node.js v20.11.1
"""
    exc = only(text)
    assert (exc.exception_type, exc.message) == ("AggregateError [ECONNREFUSED]", "")
    assert exc.chain == (("AggregateError [ECONNREFUSED]", ""),)
    assert exc.last_line == 22
    assert exc.category == CATEGORY_CONNECTION_REFUSED


def test_node_esm_bare_frames():
    text = """\
file:///app/src/index.mjs:12
  const port = config.http.port;
                           ^

TypeError: Cannot read properties of undefined (reading 'port')
    at file:///app/src/index.mjs:12:28
    at ModuleJob.run (node:internal/modules/esm/module_job:234:25)

Node.js v20.11.1
"""
    exc = only(text)
    assert exc.first_line == 1
    assert exc.app_frame == StackFrame("file:///app/src/index.mjs", 12, None, True)


# --------------------------------------------------------------------------- #
# Text that is not an exception
# --------------------------------------------------------------------------- #

def test_no_exception_log():
    text = read_log("no_exception.log")
    assert extract_exceptions(text) == []
    assert last_exception(text) is None


@pytest.mark.parametrize("text", [
    "",
    "\n\n",
    "ERROR: connection refused",
    "2025-11-06 16:21:04,553 ERROR [db] error: connection refused, error count=3",
    "panic: something odd happened\nexiting",
    "fatal error: config missing\n",
    "Error: something failed\nretrying in 5s",
    "TypeError: x is not a function",
    "java.lang.IllegalStateException: oops",
    "    at least one replica must be ready",
    "Traceback (most recent call last):\n",
    "Traceback (most recent call last):\nINFO: fine\n",
    "goroutine 1 [running]:\nmain.main()\n\t/src/main.go:3 +0x1d\n",
])
def test_negatives(text):
    assert extract_exceptions(text) == []
    assert last_exception(text) is None


def test_mixed_runtimes_in_one_text():
    parts = [read_log(name) for name in (
        "java_keycloak_jgroups_timeout.log", "python_uvicorn_import_crash.log",
        "node_logged_then_uncaught_cause.log", "go_nil_pointer.log", "python_exception_group.log")]
    text = "".join(parts)
    found = extract_exceptions(text)
    assert [e.language for e in found] == ["java", "python", "node", "node", "go", "python"]
    for exc in found:
        assert_lines_verbatim(text, exc)
    assert last_exception(text).language == "go"  # a panic is always the runtime's own fatal report


# --------------------------------------------------------------------------- #
# API details
# --------------------------------------------------------------------------- #

def test_categories_have_descriptions():
    assert CATEGORIES == (CATEGORY_PERMISSION_DENIED, CATEGORY_ADDRESS_IN_USE, CATEGORY_CONNECTION_REFUSED,
                          CATEGORY_TIMEOUT, CATEGORY_MISSING_CONFIG, CATEGORY_STARTUP)
    assert set(CATEGORY_DESCRIPTIONS) == set(CATEGORIES)
    assert all(isinstance(d, str) and len(d) > 20 for d in CATEGORY_DESCRIPTIONS.values())


def test_results_are_frozen_and_headline():
    exc = only(read_log("python_pydantic_settings.log"))
    with pytest.raises(dataclasses.FrozenInstanceError):
        exc.message = "x"  # type: ignore[misc]
    assert exc.headline == "pydantic_core._pydantic_core.ValidationError: 2 validation errors for Settings"


def test_timeout_field_name_in_settings_error_is_not_a_dependency_timeout():
    text = read_log("python_pydantic_settings.log").replace("redis_url", "request_timeout")
    assert only(text).category == CATEGORY_MISSING_CONFIG


@pytest.mark.parametrize("message, category", [
    ("java.net.SocketTimeoutException: Read timed out", CATEGORY_TIMEOUT),
    ("TimeoutError: timeout expired", CATEGORY_TIMEOUT),
    ("grpc.RpcError: StatusCode.DEADLINE_EXCEEDED", CATEGORY_TIMEOUT),
    ("OSError: [Errno 110] ETIMEDOUT", CATEGORY_TIMEOUT),
    ("ValueError: request_timeout must be positive", None),
    ("RuntimeError: connect: connection refused", CATEGORY_CONNECTION_REFUSED),
    ("OSError: [Errno 13] EACCES", CATEGORY_PERMISSION_DENIED),
    ("RuntimeError: environment variable REDIS_URL is required", CATEGORY_MISSING_CONFIG),
    ("FileNotFoundError: [Errno 2] No such file or directory: '/etc/app/settings.yaml'", CATEGORY_MISSING_CONFIG),
    ("FileNotFoundError: [Errno 2] No such file or directory: '/data/orders/2025-11-06.csv'", None),
    ("app.errors.ConfigurationError: unknown backend 'memcache'", CATEGORY_MISSING_CONFIG),
    ("RuntimeError: Failed to start worker pool", CATEGORY_STARTUP),
])
def test_keyword_categories(message, category):
    text = ('Traceback (most recent call last):\n  File "/app/run.py", line 3, in main\n    go()\n'
            + message + "\n")
    assert only(text).category == category


def test_category_order_first_match_wins():
    text = PY_KEYERROR_ENV.replace("KeyError: 'DATABASE_URL'",
                                   "OSError: [Errno 13] Permission denied, connection refused, timed out")
    assert only(text).category == CATEGORY_PERMISSION_DENIED


# --------------------------------------------------------------------------- #
# Robustness and cost
# --------------------------------------------------------------------------- #

FRAGMENTS = [
    "", " ", "Traceback (most recent call last):", 'ERROR:    Traceback (most recent call last):',
    '  File "/app/x.py", line 3, in <module>', '  File "/usr/lib/python3.11/os.py", line 1, in f', "    x = 1",
    "    ^^^^", "ValueError: bad", "KeyError", "During handling of the above exception, another exception occurred:",
    "The above exception was the direct cause of the following exception:",
    "  + Exception Group Traceback (most recent call last):", "  | ValueError: x", "  +-+---- 1 ----",
    'Exception in thread "main" java.lang.RuntimeException: x', "java.io.IOException: y",
    "\tat com.acme.A.b(A.java:1)", "\tat java.base/java.lang.Thread.run(Thread.java:1)", "\t... 3 more",
    "Caused by: java.net.SocketTimeoutException: connect timed out", "\tSuppressed: java.io.IOException",
    "panic: boom", "panic: boom [recovered]", "\tpanic: again", "[signal SIGSEGV: segmentation violation]",
    "goroutine 1 [running]:", "main.main()", "\t/src/main.go:3 +0x1d", "created by main.main in goroutine 1",
    "fatal error: x", "exit status 2", "Error: connect ECONNREFUSED 1.2.3.4:5", "TypeError: x",
    "    at f (/app/a.js:1:2)", "    at node:internal/x:1:2", "    at f (/app/a.js:1:2) {", "  [cause]: Error: c",
    "  code: 'E'", "}", "/app/a.js:3", "    throw e;", "    ^", "Node.js v20.1.0", "INFO: ok",
    "2025-11-06 16:21:04,553 ERROR [x] (main) failed", "{", "Emitted 'error' event on Server instance at:",
]


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.sampled_from(FRAGMENTS), max_size=60))
def test_any_mix_of_fragments_gives_consistent_blocks(lines):
    text = "\n".join(lines)
    found = extract_exceptions(text)
    previous_end = 0
    for exc in found:
        assert previous_end < exc.first_line <= exc.last_line
        previous_end = exc.last_line
        assert_lines_verbatim(text, exc)
        assert exc.language in ("python", "java", "go", "node")
        assert exc.category is None or exc.category in CATEGORIES
        assert exc.app_frame is None or exc.app_frame.is_app
        assert all(f.is_app for f in exc.app_frames)
    latest = last_exception(text)
    assert (latest is None) == (not found)
    assert latest is None or latest in found


@given(st.text(max_size=300))
@settings(max_examples=200, deadline=None)
def test_arbitrary_text_never_raises(text):
    extract_exceptions(text)
    last_exception(text)


@pytest.mark.parametrize("text", [
    "a." * 500_000,
    "x " + "org.a" * 200_000 + "Exception: y",
    "Traceback (most recent call last):\n" + '  File "' + "a" * 1_000_000 + '", line 1, in f\n' + "E" * 1_000_000,
    ("    at " + "(" * 3000 + "\n") * 300,
    "    at " + "a (" * 300_000,
    ("com.x." * 100_000 + "Foo: " + "y" * 100_000 + "\n\tat a.b.C.d(C.java:1)\n") * 3,
    "panic: " + "x" * 1_000_000 + "\n\ngoroutine 1 [running]:\nmain.main(" + "(" * 1_000_000 + ")\n\t/a.go:1\n",
    ("Caused by: " + "a." * 300_000 + "\n") * 3,
    "Error: " + "e" * 1_000_000 + "\n    at f (/app/a.js:1:2)\n",
], ids=["dots", "dotted-type", "long-frame", "parens", "at-parens", "java-header", "go", "caused-by", "node"])
def test_megabyte_lines_are_fast(text):
    started = time.perf_counter()
    extract_exceptions(text)
    assert time.perf_counter() - started < 2.0


def test_fifty_megabyte_log_is_linear_and_fast():
    background = ("2025-11-06 16:21:04,553 INFO  [org.keycloak.services] (executor-thread-1) token issued for "
                  "client=orders-api realm=acme in 12 ms, error count=0\n")
    chunk = background * 2000 + read_log("java_keycloak_jgroups_timeout.log") + read_log(
        "python_uvicorn_import_crash.log") + read_log("node_econnrefused.log") + read_log("go_nil_pointer.log")
    copies = 50_000_000 // len(chunk)
    text = chunk * copies
    started = time.perf_counter()
    found = extract_exceptions(text)
    elapsed = time.perf_counter() - started
    assert len(found) == 4 * copies
    assert found[-1].last_line == len(text.split("\n")) - 1
    assert elapsed < 10.0, f"{elapsed:.1f}s for {len(text) / 1e6:.0f} MB"
