"""The bundled spec library: listing, short names, paths, packaging."""

from __future__ import annotations

import fnmatch
import tomllib
from pathlib import Path

import pytest

import imcmap.specs
from imcmap.specs.errors import SpecError
from imcmap.specs.library import LIBRARY, list_bundled, resolve

REPO = Path(__file__).resolve().parents[2]


def test_list_bundled_has_every_kind_sorted() -> None:
    """Every kind is listed, names sorted, each with an existing file."""
    bundled = list_bundled()
    assert set(bundled) == {"accelerator", "workload", "mapping", "experiment", "chip", "sweep"}
    for entries in bundled.values():
        assert [n for n, _ in entries] == sorted(n for n, _ in entries)
        assert all(path.is_file() for _, path in entries)


def test_short_name_resolves_to_the_bundled_file() -> None:
    """A short name is the stem of a bundled file of that kind."""
    assert resolve("accelerator", "dimc") == LIBRARY / "accelerators" / "dimc.yaml"
    assert resolve("mapping", "default_imc") == LIBRARY / "mappings" / "default_imc.yaml"


def test_anything_with_a_slash_or_suffix_is_a_path() -> None:
    """Values with a '/' or a suffix are paths, returned unchanged (even if missing)."""
    assert resolve("workload", "nets/mine.yaml") == Path("nets/mine.yaml")
    assert resolve("workload", "dimc.onnx") == Path("dimc.onnx")
    assert resolve("accelerator", Path("dimc")) == Path("dimc")


def test_unknown_short_name_suggests_a_bundled_one() -> None:
    """An unknown short name is a SpecError with a did-you-mean over the bundled names."""
    with pytest.raises(SpecError) as info:
        resolve("accelerator", "dimcc")
    assert str(info.value) == (
        "dimcc: no bundled accelerator of that name, did you mean 'dimc'?; bundled accelerators: "
        "aimc, digital, dimc, iccad23_aimc, iccad23_dimc; give a path (with a suffix or a '/') to use your own file"
    )


def test_unknown_kind_is_a_programming_error() -> None:
    """Asking for a kind that does not exist is a ValueError, not a SpecError."""
    with pytest.raises(ValueError):
        resolve("gadget", "x")


def test_package_data_globs_cover_every_bundled_file() -> None:
    """pyproject's package-data globs ship every bundled spec."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    globs = pyproject["tool"]["setuptools"]["package-data"]["imcmap.specs"]
    for entries in list_bundled().values():
        for _, path in entries:
            # relative to the specs package actually imported (the repo, or site-packages in CI)
            relative = path.relative_to(Path(imcmap.specs.__file__).resolve().parent).as_posix()
            assert any(fnmatch.fnmatch(relative, g) for g in globs), relative


def test_every_subpackage_is_listed_in_pyproject() -> None:
    """setuptools installs only the packages pyproject lists, so each subpackage must be among them."""
    pyproject = tomllib.loads((REPO / "pyproject.toml").read_text())
    listed = set(pyproject["tool"]["setuptools"]["packages"])
    root = Path(imcmap.__file__).resolve().parent
    found = {"imcmap"}
    for init in root.rglob("__init__.py"):
        parts = init.parent.relative_to(root).parts
        # a directory is a subpackage only when every directory above it, up to the root, is one too
        if parts and all((root.joinpath(*parts[:i]) / "__init__.py").is_file() for i in range(1, len(parts))):
            found.add(".".join(("imcmap", *parts)))
    assert "imcmap.specs.zigzag" in found
    assert sorted(found - listed) == []
