"""Agent Skills as the specification defines them: one ``SKILL.md`` with YAML front matter.

Parsing and validation are the reference implementation's own (``skills-ref``: its
``parse_frontmatter`` and ``validate_metadata``), natively and in Pyodide alike, so a skill LLMos
accepts is one every Agent Skills host accepts. In Pyodide its wheels are loaded on first use
(:func:`load_reference`), so the OS's boot does not pay for them. :meth:`Skill.to_markdown`
writes front matter that the reference parser (strictyaml) reads back to the same values.
"""

from __future__ import annotations

import importlib
import re
import sys
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePosixPath
from typing import Any

from llmos.errors import LlmosError
from llmos.platform import in_browser

SKILLS_DIR = "user/skills"
SKILL_FILE = "SKILL.md"
MAX_SKILL_MD_BYTES = 100_000
MAX_SKILL_BYTES = 5_000_000  # one skill folder, every file together
REFERENCE_PACKAGE = "skills-ref"  # its name in the Pyodide lock (wheels/wheels.json)

# Provenance, kept in the spec's free-form ``metadata`` (string values only).
SOURCES = "llmos-sources"  # comma-separated trace ids
SUCCESSES = "llmos-successes"
VERSION = "llmos-version"
CREATED = "llmos-created"  # ISO time
ORIGIN = "llmos-origin"  # "learned" | "imported:<where>" | "user"

# Plain scalars start with a letter and are no YAML 1.1 boolean or null, so every YAML parser
# (strictyaml, js-yaml, PyYAML...) reads them as the same string; anything else is quoted.
_PLAIN = re.compile(r"[^\W\d_][\w .,;()/+=!?&%@'-]*", re.UNICODE)
_RESERVED = {"y", "n", "yes", "no", "true", "false", "on", "off", "null"}
_ESCAPES = {"\\": "\\\\", '"': '\\"', "\n": "\\n", "\t": "\\t", "\r": "\\r"}


class SkillError(LlmosError):
    """A skill that does not follow the Agent Skills spec (or cannot be stored): the message
    names the file and lists every problem."""

    code = "bad_skill"

    def __init__(self, message: str, problems: list[str] | None = None) -> None:
        super().__init__(message)
        self.problems = problems if problems is not None else [message]


@dataclass
class Skill:
    """One skill: its front matter fields (the spec's, no others) and its markdown body."""

    name: str
    description: str
    body: str
    license: str | None = None
    compatibility: str | None = None
    metadata: dict[str, str] = field(default_factory=dict)
    allowed_tools: str | None = None

    def frontmatter(self) -> dict[str, Any]:
        """The front matter as the spec names its fields (``allowed-tools``), ``None`` left out."""
        fields: dict[str, Any] = {"name": self.name, "description": self.description}
        optional = {
            "license": self.license,
            "compatibility": self.compatibility,
            "allowed-tools": self.allowed_tools,
        }
        fields |= {key: value for key, value in optional.items() if value is not None}
        if self.metadata:
            fields["metadata"] = dict(self.metadata)
        return fields

    def to_markdown(self) -> str:
        """The ``SKILL.md`` text: block-style YAML front matter, then the body."""
        lines = ["---"]
        for key, value in self.frontmatter().items():
            if isinstance(value, dict):
                lines.append(f"{key}:")
                lines.extend(f"  {_scalar(k)}: {_scalar(v)}" for k, v in value.items())
            else:
                lines.append(f"{key}: {_scalar(value)}")
        lines.append("---")
        body = self.body.strip()
        return "\n".join(lines) + "\n\n" + (body + "\n" if body else "")


def _scalar(value: object) -> str:
    """A YAML scalar for ``value``: plain when that is unambiguous, else double-quoted with
    escapes (the reference parser cuts the front matter at the first ``---``, so hyphens in a
    value holding one are escaped too)."""
    text = str(value)
    plain = _PLAIN.fullmatch(text) and text.lower() not in _RESERVED
    if plain and not text.endswith(" ") and "--" not in text:
        return text
    out = []
    for char in text:
        if char in _ESCAPES:
            out.append(_ESCAPES[char])
        elif char == "-" and "---" in text:
            out.append("\\x2d")
        elif not _printable(char):
            code = ord(char)
            out.append(f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def _printable(char: str) -> bool:
    """YAML's printable set less its line breaks NEL, LS and PS (anything else is escaped
    inside a double-quoted scalar, where a raw line break would be folded)."""
    code = ord(char)
    return (
        0x20 <= code <= 0x7E
        or (0xA0 <= code <= 0xD7FF and code not in (0x2028, 0x2029))
        or 0xE000 <= code <= 0xFFFD
        or code >= 0x10000
    )


async def load_reference() -> None:
    """Make ``skills_ref`` importable: natively it is a dependency; in Pyodide its wheels (and
    strictyaml's, dateutil's) are loaded from this site on the first use."""
    if "skills_ref" in sys.modules or not in_browser():
        return
    try:
        importlib.import_module("skills_ref.validator")
    except ImportError:
        pyodide_js: Any = importlib.import_module("pyodide_js")
        await pyodide_js.loadPackage([REFERENCE_PACKAGE])


def check_size(where: str, size: int) -> None:
    """Refuse a SKILL.md over :data:`MAX_SKILL_MD_BYTES` (before reading it, where possible)."""
    if size > MAX_SKILL_MD_BYTES:
        raise SkillError(
            f"{where}: {size:,} bytes; a SKILL.md may hold at most {MAX_SKILL_MD_BYTES:,} "
            "(move long material into references/)."
        )


def parse_skill(text: str, folder: str | None = None) -> Skill:
    """Parse and validate ``SKILL.md`` text; ``folder`` (the skill's folder, e.g.
    ``user/skills/csv``) must then match the name. Raises :class:`SkillError`."""
    where = f"{folder}/{SKILL_FILE}" if folder else SKILL_FILE
    check_size(where, len(text.encode("utf-8", "surrogatepass")))
    from skills_ref.errors import ParseError
    from skills_ref.parser import parse_frontmatter
    from skills_ref.validator import validate_metadata

    try:
        fields, body = parse_frontmatter(text)
    except ParseError as error:
        raise SkillError(f"{where}: {error}") from error
    skill_dir = PurePosixPath(folder) if folder else None
    problems = list(validate_metadata(fields, skill_dir)) + _type_problems(fields)
    if problems:
        raise SkillError(f"{where}: " + "; ".join(problems), problems)
    return Skill(
        name=unicodedata.normalize("NFKC", fields["name"].strip()),
        description=fields["description"],
        body=body,
        license=fields.get("license"),
        compatibility=fields.get("compatibility"),
        metadata=dict(fields.get("metadata") or {}),
        allowed_tools=fields.get("allowed-tools"),
    )


def _type_problems(fields: dict[str, Any]) -> list[str]:
    """What the spec says about types that the reference validator leaves to its callers."""
    problems = [
        f"Field '{key}' must be a string"
        for key in ("license", "allowed-tools")
        if key in fields and not isinstance(fields[key], str)
    ]
    if "metadata" in fields and not isinstance(fields["metadata"], dict):
        problems.append("Field 'metadata' must be a mapping of string keys to string values")
    return problems
