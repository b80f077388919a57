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

_Loader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass
class Document:
    obj: dict
    file: Path
    line: int | None  # 1-based line where the document starts, for YAML


def read_text(path: Path) -> str:
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise InputError(f"{path}: cannot read file: {exc.strerror or exc}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise InputError(f"{path}: not UTF-8 text (byte {exc.start}): is this a Kubernetes JSON or YAML file?") from None


def parse_documents(path: Path, text: str | None = None) -> Iterator[Document]:
    """Every top-level document in a JSON or YAML file, with its starting line."""
    text = read_text(path) if text is None else text
    if path.suffix == ".json" or text.lstrip()[:1] in ("{", "["):
        try:
            yield Document(json.loads(text), path, 1)
            return
        except json.JSONDecodeError as exc:
            if path.suffix == ".json":
                raise InputError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    loader = _Loader(text)
    try:
        while loader.check_node():
            node = loader.get_node()
            line = node.start_mark.line + 1 if node is not None else None
            obj = loader.construct_document(node) if node is not None else None
            if obj is not None:
                yield Document(obj, path, line)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1} column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc).splitlines()[0]
        raise InputError(f"{path}: invalid YAML{where}: {problem}") from None
    finally:
        loader.dispose()


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
            yield from flatten(Document(with_kind(item, item_kind), doc.file, doc.line), item_kind, warnings)
        return
    yield Document(with_kind(obj, default_kind), doc.file, doc.line)


def with_kind(obj: dict, kind: str | None) -> dict:
    """Items of a typed List often lack kind and apiVersion: fill them from the list."""
    if kind and not obj.get("kind"):
        obj["kind"] = kind
    info = BY_KIND.get(obj.get("kind") or "")
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
