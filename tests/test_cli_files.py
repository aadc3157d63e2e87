"""-o DIR: files written whole, with the permissions the user's umask gives new files."""

from __future__ import annotations

import os
import stat
from io import StringIO
from pathlib import Path

import pytest
from rich.console import Console

from imcmap import cli
from imcmap.report.files import write_files


@pytest.fixture
def umask_027():
    old = os.umask(0o027)
    try:
        yield
    finally:
        os.umask(old)


def test_solve_outputs_get_the_umask_mode(tmp_path: Path, umask_027: None):
    """Under umask 027 every file `solve -o` writes is 0640 (mkstemp's 0600 used to survive the rename)."""
    out, err = StringIO(), StringIO()
    code = cli.main(
        ["solve", "-a", "dimc", "-w", "tiny_conv", "--processes", "1", "--time-limit", "2", "-o", str(tmp_path)],
        console=Console(file=out, width=100, color_system=None),
        err_console=Console(file=err, width=100, color_system=None),
    )
    assert code == 0, err.getvalue()
    written = {p.name: stat.S_IMODE(p.stat().st_mode) for p in tmp_path.iterdir()}
    assert {"result.json", "mappings.yaml", "report.txt"} <= set(written)
    assert set(written.values()) == {0o640}


def test_write_files_replaces_whole_files_and_leaves_no_temporaries(tmp_path: Path, umask_027: None):
    """An existing file is replaced (text and bytes alike), and no temporary file is left beside it."""
    (tmp_path / "a.txt").write_text("old")
    write_files(tmp_path / "sub", {"a.txt": "new", "b.bin": b"\x00\x01"})
    write_files(tmp_path, {"a.txt": "new"})
    assert (tmp_path / "a.txt").read_text() == "new" and (tmp_path / "sub" / "b.bin").read_bytes() == b"\x00\x01"
    assert sorted(p.name for p in (tmp_path / "sub").iterdir()) == ["a.txt", "b.bin"]
    assert stat.S_IMODE((tmp_path / "a.txt").stat().st_mode) == 0o640
