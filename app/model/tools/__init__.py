"""Edit tools as data: each tool is one Qt-free operation plus one description (see :mod:`.spec`).

:data:`TOOL_SPECS` (in :mod:`.registry`) lists them; ``EditSession.run_tool`` applies one as an undo step.
"""

from app.model.tools.registry import TOOL_SPECS, TOOLS, tool_spec
from app.model.tools.spec import ParameterSpec, ToolChange, ToolInput, ToolSpec

__all__ = ["TOOLS", "TOOL_SPECS", "ParameterSpec", "ToolChange", "ToolInput", "ToolSpec", "tool_spec"]
