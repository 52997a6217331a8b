"""Built-in tools, one module per family; importing this package registers them all in
:data:`llmos.agent.tools.TOOLS`."""

from llmos.tools import delegate, files, memory, python, skills

__all__ = ["delegate", "files", "memory", "python", "skills"]
