"""ZigZag 3.x input files, read as they are: hardware, mapping and workload YAML -> imcmap's types.

``imcmap solve -a dimc.yaml -m default_imc.yaml -w resnet18.onnx`` works with ZigZag's own files.
``specs.hardware``, ``specs.mapping`` and ``specs.workload`` ask ``specs.dialect`` whether a file is
ZigZag's and hand it here; nothing in this package imports ZigZag. What ZigZag 3.9.1 means by a file,
imcmap means too, or the file is rejected with the place of the key imcmap cannot honour (never
silently dropped). Where imcmap fills in an assumption it says so in ``warnings``.

One reader per file kind, each documenting what it maps to what: ``hardware`` (memories, ports and the
operational array -> an ``Accelerator`` priced by ZigZag's rules), ``mapping`` (entries -> mapping rules),
``workload`` (layers -> a ``Workload``); ``common`` holds what they share. The ``is_zigzag_*`` tests are
``specs.dialect``'s, re-exported here.
"""

from ..dialect import is_zigzag_hardware, is_zigzag_mapping, is_zigzag_workload
from .hardware import ZigZagHardwareSpec, build_zigzag_hardware
from .mapping import ZigZagMappingSpec, build_zigzag_mapping
from .workload import build_zigzag_workload

__all__ = [
    "ZigZagHardwareSpec",
    "ZigZagMappingSpec",
    "build_zigzag_hardware",
    "build_zigzag_mapping",
    "build_zigzag_workload",
    "is_zigzag_hardware",
    "is_zigzag_mapping",
    "is_zigzag_workload",
]
