"""The input language: YAML (and ONNX) files -> frozen domain objects, with every error located.

``loader`` parses YAML into nodes that know their line and column, ``checks`` is the validation
toolkit, and one builder per file kind (``hardware``, ``chips``, ``workload``, ``mapping``,
``onnx_import``, ``experiment``, ``sweep``) validates and builds; ``constraints`` is the constraint
language. ``library`` resolves short names of the bundled specs. ``dialect`` decides whether a file is
imcmap's or ZigZag 3.x's; ``zigzag`` reads ZigZag's files as they are.
"""

from .chips import ChipSpec, list_bundled_chips, load_chip, load_chips
from .constraints import check_constraints, parse_constraint, parse_constraints
from .errors import SpecError, SpecIssue
from .experiment import load_experiment
from .hardware import HardwareSpec, load_accelerator, load_hardware_spec
from .library import list_bundled, resolve
from .mapping import check_mapping_against, load_mapping_spec
from .workload import load_workload

__all__ = [
    "ChipSpec",
    "HardwareSpec",
    "SpecError",
    "SpecIssue",
    "check_constraints",
    "check_mapping_against",
    "list_bundled",
    "list_bundled_chips",
    "load_accelerator",
    "load_chip",
    "load_chips",
    "load_experiment",
    "load_hardware_spec",
    "load_mapping_spec",
    "load_workload",
    "parse_constraint",
    "parse_constraints",
    "resolve",
]
