"""Browser (Pyodide) implementations of the platform seams, and the entry points of the two
Pyodide rooms: :mod:`.os_main` (OS worker) and :mod:`.kernel_main` (sandboxed kernel worker).

Only this package and :mod:`llmos.ui` may import ``js`` or ``pyodide``.
"""
