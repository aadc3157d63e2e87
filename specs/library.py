"""The specs bundled with imcmap, and how a command-line name turns into a file.

A short name (no ``/`` and no suffix, e.g. ``dimc``) is the stem of a bundled file of that kind;
anything else (``hw/my.yaml``, ``net.onnx``) is a path, returned as given.
"""

from __future__ import annotations

from pathlib import Path

from .checks import did_you_mean
from .errors import SpecError

LIBRARY = Path(__file__).resolve().parent / "library"
KIND_DIRS: dict[str, str] = {
    "accelerator": "accelerators",
    "workload": "workloads",
    "mapping": "mappings",
    "experiment": "experiments",
    "chip": "chips",  # the validation chips: hardware files with a `validation:` section
    "sweep": "sweeps",
}
SUFFIXES = (".yaml", ".yml", ".onnx")  # in order of preference when two files share a stem


def _bundled(kind: str) -> list[tuple[str, Path]]:
    if kind not in KIND_DIRS:
        raise ValueError(f"unknown spec kind {kind!r}; expected one of {', '.join(KIND_DIRS)}")
    folder = LIBRARY / KIND_DIRS[kind]
    if not folder.is_dir():
        return []
    files = [p for p in folder.iterdir() if p.is_file() and p.suffix in SUFFIXES]
    by_name: dict[str, Path] = {}
    for path in sorted(files, key=lambda p: (p.stem, SUFFIXES.index(p.suffix))):
        by_name.setdefault(path.stem, path)
    return sorted(by_name.items())


def list_bundled() -> dict[str, list[tuple[str, Path]]]:
    """Every bundled spec by kind: ``{kind: [(short name, path), ...]}``, sorted by name."""
    return {kind: _bundled(kind) for kind in KIND_DIRS}


def is_short_name(name_or_path: str) -> bool:
    return "/" not in name_or_path and "\\" not in name_or_path and not Path(name_or_path).suffix


def resolve(kind: str, name_or_path: str | Path) -> Path:
    """The file a command-line value means: a bundled spec by short name, else the path itself."""
    text = str(name_or_path)
    if isinstance(name_or_path, Path) or not is_short_name(text):
        return Path(name_or_path).expanduser()
    bundled = dict(_bundled(kind))
    if text in bundled:
        return bundled[text]
    names = sorted(bundled)
    listed = ", ".join(names) if names else "none"
    raise SpecError.single(
        text,
        f"no bundled {kind} of that name{did_you_mean(text, names)}",
        f"bundled {KIND_DIRS[kind]}: {listed}; give a path (with a suffix or a '/') to use your own file",
    )
