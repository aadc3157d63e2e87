"""``SolveStatus``: a str whose value is its name, so documents and comparisons read as before."""

from __future__ import annotations

import json
import pickle

from imcmap.solver.status import SolveStatus


def test_a_status_reads_as_its_bare_name_everywhere() -> None:
    """JSON, str(), f-strings, %-format, equality with the bare string, pickling (worker processes)."""
    for status in SolveStatus:
        name = status.name
        assert status.value == name
        assert json.dumps({"status": status}) == f'{{"status": "{name}"}}'
        assert str(status) == f"{status}" == f"{status:>0}" == name
        assert "%s" % status == name  # noqa: UP031 - the %-format is what is tested
        assert status == name and status.lower() == name.lower()
        assert pickle.loads(pickle.dumps(status)) is status


def test_every_status_is_explained_in_the_docstring() -> None:
    """Each value has its own bullet in the class docstring."""
    doc = SolveStatus.__doc__ or ""
    for status in SolveStatus:
        assert f"* ``{status.value}``:" in doc

