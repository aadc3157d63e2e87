"""imcmap: optimal mappings and costs for SRAM in-memory-computing DNN accelerators.

Layout: ``specs`` (input language) and ``solver`` (CP-SAT mapping search) both build on
``models`` (domain types, cost models, the exact evaluator); ``cli`` renders.
"""

from imcmap.models.errors import ImcmapError

__version__ = "0.1.0"
__all__ = ["ImcmapError", "__version__"]
