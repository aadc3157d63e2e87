"""``models.errors``: one base for every error imcmap raises on purpose."""

from __future__ import annotations

import pytest

import imcmap
from imcmap.models.constraints import BypassError
from imcmap.models.errors import ImcmapError
from imcmap.models.evaluator import IllegalMapping
from imcmap.solver.problem import ProblemError
from imcmap.specs.errors import SpecError
from imcmap.specs.expressions import ExpressionError
from imcmap.sweep.engine import SchedulerUnreachable
from imcmap.sweep.store import StoreError


@pytest.mark.parametrize(
    "error", [SpecError, ExpressionError, IllegalMapping, BypassError, ProblemError, StoreError, SchedulerUnreachable]
)
def test_every_public_error_is_an_imcmap_error(error: type[Exception]) -> None:
    """Each public exception class derives from ``imcmap.ImcmapError``, the package's re-export."""
    assert imcmap.ImcmapError is ImcmapError
    assert issubclass(error, ImcmapError)


@pytest.mark.parametrize("error", [IllegalMapping, BypassError, ProblemError])
def test_former_value_errors_still_are(error: type[Exception]) -> None:
    """Classes that were ValueErrors stay ValueErrors, so existing ``except ValueError`` still catches them."""
    assert issubclass(error, ValueError)


def test_a_spec_error_is_caught_as_an_imcmap_error() -> None:
    """A real spec error raised by the loader is caught by ``except imcmap.ImcmapError``."""
    from imcmap.specs.loader import parse_yaml

    with pytest.raises(imcmap.ImcmapError):
        parse_yaml("a: [1\n", "broken.yaml")  # an unclosed flow sequence
