"""The one base of every error imcmap raises on purpose, so a caller can catch them all at once.

Hierarchy::

    Exception
     └── ImcmapError                      imcmap.ImcmapError
          ├── SpecError                   specs.errors: bad input files, every SpecIssue with its place
          ├── ExpressionError             specs.expressions: a bad sweep/experiment expression
          ├── IllegalMapping (ValueError) models.evaluator: ``evaluate`` of a mapping ``check`` rejects
          ├── BypassError (ValueError)    models.constraints: a bypass that leaves an operand no top level
          ├── ProblemError (ValueError)   solver.problem: no legal mapping before the search starts
          ├── StoreError                  sweep.store: a store this code cannot read, or bad input to it
          └── SchedulerUnreachable        sweep.engine: no Dask scheduler answers at the address given

The classes stay in the modules that raise them; those that were ``ValueError`` before still are, so
existing ``except ValueError`` keeps catching them. This module sits in ``models/``, the lowest layer,
so every package can import it.
"""

from __future__ import annotations


class ImcmapError(Exception):
    """Base of imcmap's own errors."""
