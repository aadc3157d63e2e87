"""The input language: YAML (and ONNX) files -> frozen domain objects, with every error located.

``loader`` parses YAML into nodes that know their line and column, ``checks`` is the validation
toolkit, and one builder per file kind (``hardware``, ``workload``, ``mapping``, ``onnx_import``)
validates and builds. ``library`` resolves short names of the bundled specs.
"""

from .errors import SpecError, SpecIssue
from .hardware import HardwareSpec, load_accelerator, load_hardware_spec
from .library import list_bundled, resolve
from .mapping import check_mapping_against, load_mapping_spec
from .workload import load_workload

__all__ = [
    "HardwareSpec",
    "SpecError",
    "SpecIssue",
    "check_mapping_against",
    "list_bundled",
    "load_accelerator",
    "load_hardware_spec",
    "load_mapping_spec",
    "load_workload",
    "resolve",
]
