"""Agent Skills: the reference parser/validator (skills-ref) in both runtimes, SKILL.md round
trips for awkward text, and the store in the user volume (whole saves, enable/trust state,
import of folders and zips with hostile paths, export in the layout skill hosts read)."""

from __future__ import annotations

import io
import random
import zipfile

import pytest
from llmos.errors import NotFoundError, QuotaError
from llmos.platform import Storage
from llmos.platform.memory import MemoryStorage
from llmos.settings import Settings
from llmos.skills import store as store_module
from llmos.skills.spec import (
    MAX_SKILL_BYTES,
    MAX_SKILL_MD_BYTES,
    ORIGIN,
    Skill,
    SkillError,
    load_reference,
    parse_skill,
)
from llmos.skills.store import SkillStore, read_zip
from llmos.vfs import Vfs, Volume

from tests.conftest import run, zip_of

AWKWARD = [
    "Summarise a CSV: columns, types & totals",
    'He said "use it" when asked',
    "it's a # not a comment",
    "line one\nline two\n\n  indented",
    "unicode: é, ß, 漢字, 🙂, and RTL עברית",
    "--- looks like front matter ---",
    "yes",
    "null",
    "~",
    "- a list item?",
    "{not: a mapping}",
    "[1, 2]",
    "trailing space ",
    " leading space",
    "tab\there, backslash \\ and a \x01 control",
    "line\u2028separator and next\x85line",
    "* star & anchor",
    "key: value",
    "100",
    "1e3",
]


@pytest.fixture(scope="module", autouse=True)
def reference() -> None:
    run(load_reference())  # in Pyodide: loads skills-ref's wheels once for the module


def skill(name: str = "summarize-csv", **fields: object) -> Skill:
    values: dict[str, object] = {
        "description": "Summarise a CSV file: columns, types and totals. Use for .csv files.",
        "body": "# Summarise a CSV\n\n1. Run `scripts/summary.py <file>`.\n",
    }
    values |= fields
    return Skill(name=name, **values)  # type: ignore[arg-type]


def new_store(storage: Storage | None = None) -> SkillStore:
    vfs = Vfs()
    vfs.mount(Volume("user", storage or MemoryStorage(), writable=True))
    return SkillStore(vfs, Settings(MemoryStorage()))


# --- the spec ------------------------------------------------------------------------------------


def test_awkward_text_round_trips_through_skill_md() -> None:
    for text in AWKWARD:
        original = Skill(
            name="awkward",
            description=text,
            body=f"# Body\n\n{text}\n---\nnot front matter",
            license=text,
            compatibility=text,
            metadata={text: text, "plain": "v", ORIGIN: "user"},
            allowed_tools=text,
        )
        back = parse_skill(original.to_markdown(), "user/skills/awkward")
        assert back == Skill(**{**original.__dict__, "body": original.body.strip()}), text


def test_random_awkward_text_round_trips() -> None:
    pieces = [":", " ", '"', "'", "#", "\n", "é", "-", "\t", "\\", "{", "&", "!", "|", ">", "a"]
    pieces += ["\u2028", "🙂", "%", "@", "`", "?", ",", "\r", "\ufeff", "null"]
    rng = random.Random(6)
    for _ in range(150):
        text = "".join(rng.choice(pieces) for _ in range(rng.randint(1, 10)))
        if not text.strip():
            continue
        original = Skill("fuzz", text, "body", metadata={text: text})
        back = parse_skill(original.to_markdown(), "fuzz")
        assert (back.description, back.metadata) == (text, {text: text}), repr(text)


def test_to_markdown_is_plain_yaml_front_matter() -> None:
    text = skill(license="Apache-2.0", metadata={"llmos-version": "1"}).to_markdown()
    assert text.startswith("---\nname: summarize-csv\ndescription: ")
    assert 'license: Apache-2.0\nmetadata:\n  llmos-version: "1"\n---\n\n# Summarise' in text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("no front matter", "must start with YAML frontmatter"),
        ("---\nname: x\n", "not properly closed"),
        ("---\nname: [unclosed\n---\n", "Invalid YAML"),
        ("---\nname: csv\n---\nbody", "Missing required field in frontmatter: description"),
        ("---\ndescription: d\n---\n", "Missing required field in frontmatter: name"),
        ("---\nname: Not_Valid\ndescription: d\n---\n", "must be lowercase"),
        ("---\nname: -csv\ndescription: d\n---\n", "cannot start or end with a hyphen"),
        ("---\nname: other\ndescription: d\n---\n", "Directory name 'csv' must match"),
        ("---\nname: csv\ndescription: d\nversion: 2\n---\n", "Unexpected fields"),
        ("---\nname: csv\ndescription: d\nmetadata: x\n---\n", "'metadata' must be a mapping"),
        ("---\nname: csv\ndescription: d\nlicense:\n  a: b\n---\n", "'license' must be"),
    ],
)
def test_malformed_skill_md_names_file_and_problem(text: str, expected: str) -> None:
    with pytest.raises(SkillError) as caught:
        parse_skill(text, "user/skills/csv")
    assert str(caught.value).startswith("user/skills/csv/SKILL.md: ")
    assert expected in str(caught.value)
    assert caught.value.code == "bad_skill"


def test_every_problem_is_listed() -> None:
    with pytest.raises(SkillError) as caught:
        parse_skill("---\nname: Bad--Name\nextra: 1\n---\n", "user/skills/csv")
    assert len(caught.value.problems) >= 5  # fields, lowercase, --, directory, description


def test_oversize_skill_md_is_refused() -> None:
    big = skill(body="x" * MAX_SKILL_MD_BYTES).to_markdown()
    with pytest.raises(SkillError, match="at most 100,000"):
        parse_skill(big, "summarize-csv")


# --- the store -----------------------------------------------------------------------------------


async def test_save_get_list_and_state(storage: Storage) -> None:
    store = new_store(storage)
    await store.save(skill(), {"scripts/summary.py": b"print('hi')\n"})
    assert await store.get("summarize-csv") == skill(body=skill().body.strip())
    [info] = await store.list()
    assert (info.name, info.enabled, info.trusted, info.problem) == (
        "summarize-csv",
        True,
        True,
        None,
    )
    assert info.files == ["SKILL.md", "scripts/summary.py"]
    await store.set_enabled("summarize-csv", False)
    assert not (await store.list())[0].enabled
    assert store.settings.get("skills") == {"disabled": ["summarize-csv"], "untrusted": []}
    await store.set_enabled("summarize-csv", True)
    # an edit without files keeps the scripts
    await store.save(skill(description="Better description."))
    assert (await store.get("summarize-csv")).description == "Better description."
    assert await store.read_file("summarize-csv", "scripts/summary.py") == b"print('hi')\n"
    await store.delete("summarize-csv")
    assert await store.list() == []
    assert not await store.vfs.exists("user/skills/summarize-csv")
    with pytest.raises(NotFoundError):
        await store.get("summarize-csv")


async def test_a_broken_folder_is_listed_with_its_problem() -> None:
    store = new_store()
    await store.vfs.write_text("user/skills/broken/SKILL.md", "---\nname: other\n---\n")
    await store.vfs.write_text("user/skills/empty/notes.txt", "no SKILL.md here")
    infos = {i.name: i for i in await store.list()}
    assert "Directory name 'broken' must match skill name 'other'" in str(infos["broken"].problem)
    assert "description" in str(infos["broken"].problem)
    assert "SKILL.md does not exist" in str(infos["empty"].problem)
    assert not infos["broken"].enabled


async def test_an_invalid_save_leaves_the_previous_version() -> None:
    store = new_store()
    await store.save(skill(), {"scripts/summary.py": b"v1"})
    before = await store.vfs.read_text("user/skills/summarize-csv/SKILL.md")
    with pytest.raises(SkillError, match="description"):
        await store.save(skill(description=""), {"scripts/summary.py": b"v2"})
    with pytest.raises(SkillError, match="at most 5,000,000"):
        await store.save(skill(), {"data.bin": b"x" * MAX_SKILL_BYTES})
    with pytest.raises(SkillError, match="leaves its folder"):
        await store.save(skill(), {"../escape.py": b"x"})
    assert await store.vfs.read_text("user/skills/summarize-csv/SKILL.md") == before
    assert await store.read_file("summarize-csv", "scripts/summary.py") == b"v1"
    assert not await store.vfs.exists("user/../escape.py".replace("../", ""))


class FailingStorage(MemoryStorage):
    """A disk that fills up when a given file is written."""

    fail_on = ""

    async def write(self, path: str, data: bytes) -> None:
        if self.fail_on and path.endswith(self.fail_on):
            raise QuotaError("The disk is full.")
        await super().write(path, data)


async def test_a_save_cut_short_by_the_disk_leaves_the_previous_version() -> None:
    disk = FailingStorage()
    store = new_store(disk)
    await store.save(skill(), {"scripts/a.py": b"v1", "scripts/b.py": b"v1"})
    disk.fail_on = "scripts/b.py"
    with pytest.raises(QuotaError):
        await store.save(skill(description="v2"), {"scripts/a.py": b"v2", "scripts/b.py": b"v2"})
    assert (await store.get("summarize-csv")).description == skill().description
    assert await store.read_file("summarize-csv", "scripts/a.py") == b"v1"
    assert [i.name for i in await store.list()] == ["summarize-csv"]
    assert [e.name for e in await store.vfs.list("user/skills")] == ["summarize-csv"]


async def test_a_version_left_aside_by_a_crash_is_put_back() -> None:
    store = new_store()
    await store.save(skill(), {"scripts/a.py": b"v1"})
    await store.vfs.rename("user/skills/summarize-csv", "user/skills/.previous/summarize-csv")
    await store.vfs.write_text("user/skills/.staging/summarize-csv/SKILL.md", "half")
    assert [i.name for i in await store.list()] == ["summarize-csv"]
    assert await store.read_file("summarize-csv", "scripts/a.py") == b"v1"
    assert not await store.vfs.exists("user/skills/.previous")


async def test_imported_skills_are_disabled_and_untrusted_until_enabled() -> None:
    store = new_store()
    files = {
        "repo-main/skills/summarize-csv/SKILL.md": skill().to_markdown().encode(),
        "repo-main/skills/summarize-csv/scripts/summary.py": b"print(1)\n",
        "repo-main/skills/bad/SKILL.md": b"---\nname: good\ndescription: d\n---\n",
        "repo-main/README.md": b"# a repo",
    }
    imported = await store.import_files(files, "github.com/someone/repo")
    assert list(imported) == ["summarize-csv"]
    assert len(imported.problems) == 1
    assert "Directory name 'bad' must match skill name 'good'" in imported.problems[0]
    [info] = await store.list()
    assert (info.enabled, info.trusted) == (False, False)
    assert info.metadata[ORIGIN] == "imported:github.com/someone/repo"
    assert info.files == ["SKILL.md", "scripts/summary.py"]
    await store.set_enabled("summarize-csv", True)
    [info] = await store.list()
    assert (info.enabled, info.trusted) == (True, True)


async def test_a_single_skill_folder_or_bare_skill_md_imports() -> None:
    store = new_store()
    assert list(await store.import_files({"SKILL.md": skill().to_markdown().encode()}, "upload"))
    with pytest.raises(SkillError, match=r"No SKILL\.md"):
        await store.import_files({"notes/readme.md": b"hello"}, "upload")


async def test_hostile_zips_are_refused_and_change_nothing(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setattr(store_module, "MAX_ZIP_BYTES", 1_000_000)  # a smaller bomb is as good
    store = new_store()
    await store.save(skill(), {"scripts/summary.py": b"v1"})
    good = skill().to_markdown().encode()
    hostile = {
        "../": zip_of({"summarize-csv/SKILL.md": good, "../../evil.py": b"x"}),
        "absolute": zip_of({"summarize-csv/SKILL.md": good, "/etc/evil": b"x"}),
        "unpacks": zip_of({"summarize-csv/SKILL.md": good, "bomb.txt": b"0" * 1_000_001}),
        "not a zip": b"PK\x03\x04 nonsense",
    }
    link = io.BytesIO()
    with zipfile.ZipFile(link, "w") as archive:
        entry = zipfile.ZipInfo("summarize-csv/scripts/link")
        entry.external_attr = 0o120777 << 16
        archive.writestr(entry, "/etc/passwd")
        archive.writestr("summarize-csv/SKILL.md", good)
    hostile["symbolic link"] = link.getvalue()
    for label, data in hostile.items():
        with pytest.raises(SkillError) as caught:
            await store.import_zip(data, "upload")
        assert "zip" in str(caught.value), label
    assert await store.read_file("summarize-csv", "scripts/summary.py") == b"v1"
    assert (await store.list())[0].trusted
    assert len(hostile["unpacks"]) < 5_000  # a real bomb: tiny packed, over the cap unpacked


async def test_export_is_name_folders_at_the_root_and_imports_back() -> None:
    store = new_store()
    await store.save(skill(), {"scripts/summary.py": b"print(1)\n"})
    await store.save(skill("plot-primes", description="Plot primes."))
    await store.vfs.write_text("user/skills/broken/SKILL.md", "not a skill")
    data = await store.export_zip()
    assert sorted(read_zip(data)) == [
        "plot-primes/SKILL.md",
        "summarize-csv/SKILL.md",
        "summarize-csv/scripts/summary.py",
    ]
    assert await store.export_zip() == data  # same skills, same bytes
    other = new_store()
    assert sorted(await other.import_zip(data, "export")) == ["plot-primes", "summarize-csv"]
    assert (await other.get("summarize-csv")).body == skill().body.strip()
