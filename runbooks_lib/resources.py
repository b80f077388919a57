"""Where the bundled runbooks and examples live, installed or in a checkout."""

from __future__ import annotations

from pathlib import Path

from .errors import InputError

_PACKAGE = Path(__file__).resolve().parent
EXAMPLE_PREFIX = "example:"
DEFAULT_EXAMPLE = "staging-incident"


def _bundled(name: str) -> Path:
    # A wheel installs them inside the package; an editable install or a checkout
    # keeps them at the repository root, next to the package.
    for candidate in (_PACKAGE / name, _PACKAGE.parent / name):
        if candidate.is_dir():
            return candidate
    raise InputError(f"the bundled {name}/ folder is missing from this installation ({_PACKAGE})")


def notebooks_dir() -> Path:
    return _bundled("notebooks")


def examples_dir() -> Path:
    return _bundled("examples")


def example_names() -> list[str]:
    names = []
    for root in sorted(p for p in examples_dir().iterdir() if p.is_dir() and not p.name.startswith(("_", "."))):
        if (root / "snapshot").is_dir():
            names.append(root.name)
        names.extend(f"{root.name}/{sub.name}" for sub in sorted(root.iterdir())
                     if sub.is_dir() and sub.name != "snapshot")
    return names


def example_path(name: str) -> Path:
    """``staging-incident`` is the snapshot; ``staging-incident/manifests`` a sub-folder of the example."""
    name = name.removeprefix(EXAMPLE_PREFIX).strip("/")
    base, _, rest = name.partition("/")
    path = examples_dir() / base / (rest or "snapshot")
    if not base or not path.exists():
        raise InputError(f"unknown example {name!r}; bundled examples: {', '.join(example_names())}")
    return path


def is_example_name(name: str) -> bool:
    if name.startswith(EXAMPLE_PREFIX):
        return True
    try:
        example_path(name)
    except InputError:
        return False
    return True
