from runbooks_lib.podlogs import iter_container_logs, read_log_file, render_log_file

DUMP = """==== START logs for container app of pod shop/web-1 ====
line one
line two
==== END logs for container app of pod shop/web-1 ====
==== START logs for container proxy of pod shop/web-1 ====
Request log error: previous terminated container "proxy" in pod "web-1" not found
==== END logs for container proxy of pod shop/web-1 ====
"""


def test_splits_one_block_per_container(tmp_path):
    path = tmp_path / "logs.txt"
    path.write_text(DUMP)
    logs = read_log_file(path)
    assert set(logs) == {"app", "proxy"}
    assert logs["app"].text == "line one\nline two"
    assert logs["app"].first_line_number == 1
    # The API's error text is kept verbatim: it is evidence too.
    assert logs["proxy"].text.startswith("Request log error: previous terminated container")


def test_markers_of_another_pod_do_not_close_a_block():
    text = DUMP.replace("==== END logs for container app of pod shop/web-1 ====",
                        "==== END logs for container app of pod shop/other ====\n"
                        "==== END logs for container app of pod shop/web-1 ====")
    logs = {log.container: log for log in iter_container_logs(text.splitlines(True))}
    assert "==== END logs for container app of pod shop/other ====" in logs["app"].text


def test_block_without_end_still_counts():
    lines = ["==== START logs for container app of pod shop/web-1 ====\n", "partial\n"]
    (log,) = list(iter_container_logs(lines))
    assert log.text == "partial"


def test_keeps_only_the_tail_of_huge_logs_and_counts_dropped_lines():
    lines = ["==== START logs for container app of pod shop/web-1 ====\n"]
    lines += [f"line {i:06d}\n" for i in range(100_000)]
    (log,) = list(iter_container_logs(lines, tail_bytes=1200))
    assert log.truncated
    kept = log.text.splitlines()
    assert kept[-1] == "line 099999"
    # first_line_number maps the kept text back to line numbers in the container's whole log.
    assert kept[0] == f"line {log.first_line_number - 1:06d}"
    assert len(log.text) <= 1200


def test_very_long_lines_are_cut():
    lines = ["==== START logs for container app of pod shop/web-1 ====\n", "x" * 100_000 + "\n", "after\n"]
    (log,) = list(iter_container_logs(lines))
    first, second = log.text.splitlines()
    assert len(first) < 20_000 and first.endswith("[line cut]")
    assert second == "after"


def test_non_utf8_bytes_are_replaced_not_fatal(tmp_path):
    path = tmp_path / "logs.txt"
    path.write_bytes(b"==== START logs for container app of pod shop/web-1 ====\nbad \xff\xfe bytes\n"
                     b"==== END logs for container app of pod shop/web-1 ====\n")
    assert "bad" in read_log_file(path)["app"].text


def test_render_is_the_inverse_of_read(tmp_path):
    path = tmp_path / "logs.txt"
    path.write_text(render_log_file("shop", "web-1", {"app": "a\nb", "proxy": "c"}))
    logs = read_log_file(path)
    assert logs["app"].text == "a\nb" and logs["proxy"].text == "c"
