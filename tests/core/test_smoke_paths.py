import pytest

from llmos.errors import PathError
from llmos.vfs import paths


def test_dotdot_is_refused() -> None:
    with pytest.raises(PathError, match=r"\.\."):
        paths.normalize("user/../secrets")


async def test_storage_roundtrip(storage) -> None:
    await storage.write("a.txt", b"hello")
    assert await storage.read("a.txt") == b"hello"
