"""Reading Kubernetes documents from JSON and YAML files, with clear errors.

Shared by every file-based source: a snapshot's typed Lists, a single
``kubectl get -o json|yaml`` file, and multi-document manifest streams.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Iterator

import yaml

from ..errors import InputError
from ..kinds import BY_KIND, BY_LIST_KIND, BY_PLURAL

try:  # optional: parses big snapshots about twice as fast as json; any doubt falls back to json
    from orjson import loads as _fast_json_loads
except ImportError:
    _fast_json_loads = None

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Document:
    obj: dict
    file: Path
    line: int | None  # 1-based line where the document starts, for YAML


def read_text(path: Path) -> str:
    return _decode(path, _read_bytes(path))


def _read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read file: {exc.strerror or exc}") from None


def _decode(path: Path, data: bytes) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}): is this a Kubernetes JSON or YAML file?") from None


def parse_documents(path: Path, text: str | None = None) -> Iterator[Document]:
    """Every top-level document in a JSON or YAML file, with its starting line."""
    if text is None:
        data = _read_bytes(path)
        if path.suffix == ".json" and _fast_json_loads is not None:
            try:  # straight from bytes: no decoded copy of a file that can be 100 MB
                yield Document(_fast_json_loads(data.removeprefix(b"\xef\xbb\xbf")), path, 1)
                return
            except ValueError:
                pass  # not UTF-8, NaN, invalid...: the exact path below says which
        text = _decode(path, data)
    if path.suffix == ".json" or text.lstrip()[:1] in ("{", "["):
        try:
            yield Document(_json_loads(text), path, 1)
            return
        except json.JSONDecodeError as exc:
            if path.suffix == ".json":
                raise InputError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
        except (RecursionError, ValueError) as exc:  # nested deeper than Python's stack; integers of 4300+ digits
            raise InputError(f"{path}: unreadable JSON: {str(exc).split(';')[0]}") from None
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else None
            obj = loader.construct_document(node) if node is not None else None
            if _aliases_run_away(obj):
                raise InputError(f"{path}: the YAML document at line {line} contains itself or expands past "
                                 f"{MAX_EXPANDED_NODES:,} values through &anchors and *aliases")
            if obj is not None:
                yield Document(obj, path, line)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}: invalid YAML{where}: {problem}") from None
    finally:
        loader.dispose()


MAX_EXPANDED_NODES = 10_000_000  # a "billion laughs" document stops here; real manifests are far below


def _aliases_run_away(root) -> bool:
    """True when YAML aliases make a document contain itself, or expand it beyond MAX_EXPANDED_NODES.

    JSON, which Kubernetes turns YAML into, has neither: every walker downstream (redaction,
    frames) would recurse forever or work through every expanded copy. One pass, each
    distinct node sized once.
    """
    sizes: dict[int, int] = {}
    on_path: set[int] = set()
    stack: list[tuple[object, bool]] = [(root, False)]
    while stack:
        node, leaving = stack.pop()
        if not isinstance(node, (dict, list)) or (not leaving and id(node) in sizes):
            continue
        children = list(node.values()) if isinstance(node, dict) else node
        if leaving:
            on_path.discard(id(node))
            sizes[id(node)] = 1 + sum(sizes.get(id(child), 1) for child in children)
            if sizes[id(node)] > MAX_EXPANDED_NODES:
                return True
            continue
        if id(node) in on_path:
            return True
        on_path.add(id(node))
        stack.append((node, True))
        stack.extend((child, False) for child in children)
    return False


def _json_loads(text: str):
    if _fast_json_loads is not None:
        try:
            return _fast_json_loads(text)
        except ValueError:
            pass  # NaN, huge integers, or truly invalid: json decides, with its error message
    return json.loads(text)


def flatten(doc: Document, default_kind: str | None = None, warnings: list[str] | None = None) -> Iterator[Document]:
    """Objects of a document: the items of a List (filling in kind/apiVersion), or the object itself."""
    obj = doc.obj
    if not isinstance(obj, dict):
        _warn(warnings, f"{doc.file}: skipped a document that is a {type(obj).__name__}, not an object")
        return
    kind = obj.get("kind")
    if "items" in obj and (kind is None or str(kind).endswith("List")):
        items = obj.get("items")
        if items is None:
            return
        if not isinstance(items, list):
            _warn(warnings, f"{doc.file}: 'items' is a {type(items).__name__}, not a list; skipped")
            return
        info = BY_LIST_KIND.get(str(kind)) if kind else None
        item_kind = info.kind if info else default_kind
        for index, item in enumerate(items):
            if not isinstance(item, dict):
                _warn(warnings, f"{doc.file}: items[{index}] is a {type(item).__name__}, not an object; skipped")
                continue
            item = with_kind(item, item_kind)
            if "items" in item:  # a List inside a List: rare, the general path handles it
                yield from flatten(Document(item, doc.file, doc.line), item_kind, warnings)
            else:
                yield Document(item, doc.file, doc.line)
        return
    yield Document(with_kind(obj, default_kind), doc.file, doc.line)


def with_kind(obj: dict, kind: str | None) -> dict:
    """Items of a typed List often lack kind and apiVersion: fill them from the list."""
    if kind and not obj.get("kind"):
        obj["kind"] = kind
    info = BY_KIND.get(obj["kind"]) if isinstance(obj.get("kind"), str) else None  # a kind can be any JSON
    if info and not obj.get("apiVersion"):
        obj["apiVersion"] = info.api_version
    return obj


def kind_for_file(path: Path) -> str | None:
    info = BY_PLURAL.get(path.stem)
    return info.kind if info else None


def object_key(obj: dict) -> tuple[str, str, str]:
    meta = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    return (str(obj.get("kind") or ""), str(meta.get("namespace") or ""), str(meta.get("name") or ""))


def _warn(warnings: list[str] | None, message: str) -> None:
    if warnings is not None:
        warnings.append(message)


def describe(obj: Any) -> str:
    kind, namespace, name = object_key(obj) if isinstance(obj, dict) else ("?", "", "?")
    return f"{kind} {namespace + '/' if namespace else ''}{name}"
