"""Every skill LLMos writes (saved, imported, exported) passes the Agent Skills reference
validator, ``skills_ref.validate``, run on the folders as they lie on disk."""

from __future__ import annotations

from pathlib import Path

import skills_ref
from llmos.platform.memory import MemoryStorage
from llmos.platform.native import DirectoryStorage
from llmos.settings import Settings
from llmos.skills.spec import ORIGIN, Skill
from llmos.skills.store import SkillStore
from llmos.vfs import Vfs, Volume

from tests.core.test_skills import AWKWARD


def store_on(folder: Path) -> SkillStore:
    vfs = Vfs()
    vfs.mount(Volume("user", DirectoryStorage(folder), writable=True))
    return SkillStore(vfs, Settings(MemoryStorage()))


def validate_all(root: Path) -> dict[str, list[str]]:
    skills = root / "skills"
    return {p.name: skills_ref.validate(p) for p in sorted(skills.iterdir()) if p.is_dir()}


async def test_saved_imported_and_exported_skills_pass_the_reference_validator(
    tmp_path: Path,
) -> None:
    store = store_on(tmp_path / "a")
    for number, text in enumerate(AWKWARD):
        awkward = Skill(
            name=f"awkward-{number}",
            description=text,
            body=f"# {text}\n\n{text}",
            license=text,
            compatibility=text,
            metadata={"llmos-sources": "t1,t2", "llmos-successes": "3", text: text},
            allowed_tools=text,
        )
        await store.save(awkward, {"scripts/run.py": b"print(1)\n", "references/a.md": b"#"})
    await store.save(Skill("überblick", "Unicode name, as the spec allows.", "body"))
    results = validate_all(tmp_path / "a")
    assert len(results) == len(AWKWARD) + 1
    assert all(problems == [] for problems in results.values()), results
    assert [p.name for p in (tmp_path / "a" / "skills").iterdir() if p.name.startswith(".")] == []

    other = store_on(tmp_path / "b")
    imported = await other.import_zip(await store.export_zip(), "a zip")
    assert len(imported) == len(AWKWARD) + 1
    assert imported.problems == []
    assert validate_all(tmp_path / "b") == {name: [] for name in results}
    for name in imported:  # the same skill came back, provenance added
        before, after = await store.get(name), await other.get(name)
        assert after.metadata.pop(ORIGIN) == "imported:a zip"
        assert after == before


def test_reference_properties_match_ours(tmp_path: Path) -> None:
    folder = tmp_path / "skills" / "csv-tool"
    folder.mkdir(parents=True)
    original = Skill("csv-tool", 'Reads "CSV": fast # really', "b", license="MIT")
    (folder / "SKILL.md").write_text(original.to_markdown(), encoding="utf-8")
    props = skills_ref.read_properties(folder)
    assert (props.name, props.description, props.license) == (
        original.name,
        original.description,
        original.license,
    )
