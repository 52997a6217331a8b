"""Built-in tools, one module per family; importing this package registers them all in
:data:`llmos.agent.tools.TOOLS`."""

from llmos.tools import applets, delegate, files, memory, python, skills

__all__ = ["applets", "delegate", "files", "memory", "python", "skills"]
