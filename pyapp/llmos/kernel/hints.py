"""Clear messages for imports that this build cannot satisfy.

Pyodide's compiled packages (numpy, pandas, ...) are not on the registries this project builds
from, so a build ships only the ones ``build.py --pyodide-packages`` vendored. Instead of a bare
``ModuleNotFoundError``, the kernel says which package is missing and how to add it.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import sys
from collections.abc import Mapping, Sequence
from types import ModuleType

HOW_TO_ADD = (
    "Rebuild LLMos with the package vendored from an official Pyodide distribution of the same "
    "version: python3 build.py build --pyodide-packages <dir-or-url> --packages {package}"
)


class MissingPackageFinder(importlib.abc.MetaPathFinder):
    """Last on ``sys.meta_path``: answers only for known Pyodide packages nothing else found."""

    def __init__(self, imports_to_package: Mapping[str, str]) -> None:
        self.imports_to_package = dict(imports_to_package)

    def find_spec(
        self,
        fullname: str,
        path: Sequence[str] | None,
        target: ModuleType | None = None,
    ) -> importlib.machinery.ModuleSpec | None:
        top = fullname.partition(".")[0]
        package = self.imports_to_package.get(top)
        if package is None or path is not None:
            return None
        message = (
            f"No module named '{top}': this LLMos build does not include the Pyodide package "
            f"'{package}'. " + HOW_TO_ADD.format(package=package)
        )
        raise ModuleNotFoundError(message, name=top)


def install(imports_to_package: Mapping[str, str]) -> MissingPackageFinder:
    """Append a finder for ``imports_to_package`` (e.g. ``{"numpy": "numpy", "PIL": "pillow"}``)."""
    for finder in list(sys.meta_path):
        if isinstance(finder, MissingPackageFinder):
            sys.meta_path.remove(finder)
    finder = MissingPackageFinder(imports_to_package)
    sys.meta_path.append(finder)
    return finder
