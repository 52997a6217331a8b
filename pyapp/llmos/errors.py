"""The error types the OS shows to users: each carries a stable code and a readable message."""


class LlmosError(Exception):
    """Base class: ``code`` is machine-readable, ``str(error)`` is meant for the user."""

    code = "error"


class PathError(LlmosError):
    """A path was refused before touching storage (traversal, absolute, NUL byte...)."""

    code = "bad_path"


class NotFoundError(LlmosError):
    code = "not_found"


class ExistsError(LlmosError):
    code = "exists"


class ReadOnlyError(LlmosError):
    code = "read_only"


class NotAFileError(LlmosError):
    code = "not_a_file"


class BinaryFileError(LlmosError):
    """A file holds bytes that are not UTF-8 text, so a text editor must not open it."""

    code = "binary"


class QuotaError(LlmosError):
    """The browser (or disk) refused a write for lack of space; nothing was changed."""

    code = "quota"


class StorageError(LlmosError):
    """Storage failed in a way the user can act on (a corrupt entry, a backend error)."""

    code = "storage"


class MemoryFormatError(LlmosError):
    """A memory store was written in a format this LLMos cannot read (a newer version wrote
    it); the store was left exactly as it was."""

    code = "memory_format"


class InputError(LlmosError):
    """What the user gave (a setting, a file to import, a text to remember) cannot be used;
    the message says why, and nothing was changed."""

    code = "invalid"


class ProtocolError(LlmosError):
    """A message between rooms did not match the protocol."""

    code = "protocol"


class LlmError(LlmosError):
    """A model endpoint failed. ``code`` says how, so the router and the UI can react:
    ``auth`` (401/403), ``not_found`` (404: wrong base URL or model), ``rate_limited`` (429),
    ``server`` (5xx), ``network`` (unreachable), ``bad_response`` (not the expected JSON/SSE,
    e.g. an HTML page), ``stream_cut`` (the stream ended before the answer did)."""

    def __init__(self, message: str, code: str = "llm", status: int | None = None) -> None:
        super().__init__(message)
        self.code = code
        self.status = status

    @property
    def retryable(self) -> bool:
        return self.code in ("rate_limited", "server", "network")
