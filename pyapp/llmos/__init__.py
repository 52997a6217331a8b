"""LLMos: the operating system package.

Pure Python that runs in CPython (tests, the ``llmos`` command) and in Pyodide (the browser's
OS worker and kernel worker). Browser-only code lives in :mod:`llmos.platform.browser` and
:mod:`llmos.ui`; everything else is shared.
"""

__version__ = "0.1.0"
