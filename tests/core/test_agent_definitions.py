"""Markdown agent definitions: front matter parsing, defaults, readable errors, user agents."""

from __future__ import annotations

import pytest
from llmos.agent.definitions import AgentDefinitionError, load_agents, parse_agent
from llmos.platform.memory import MemoryStorage
from llmos.service import system_storage
from llmos.vfs import Vfs, Volume

FULL = """---
name: coder   # the agent's name
description: "Writes code: carefully"
model:
  prefer: remote
  temperature: 0.3
tools: [execute_python, read_file]
max_steps: 5
plan: false
---
You write Python.
"""


def test_a_full_definition_is_parsed() -> None:
    agent = parse_agent(FULL, "user/agents/coder.md")
    assert agent.name == "coder"
    assert agent.description == "Writes code: carefully"
    assert agent.prefer == "remote"
    assert agent.temperature == 0.3
    assert agent.tools == ["execute_python", "read_file"]
    assert agent.max_steps == 5
    assert agent.plan is False
    assert agent.prompt == "You write Python."


def test_block_lists_and_defaults() -> None:
    agent = parse_agent("---\nname: a\ntools:\n  - read_file\n  - write_file\n---\nBody")
    assert agent.tools == ["read_file", "write_file"]
    assert agent.prefer == "any"
    assert agent.max_steps == 12
    assert agent.plan is True


@pytest.mark.parametrize(
    ("text", "problem"),
    [
        ("---\ndescription: x\n---\nbody", "needs a 'name'"),
        ("---\nname: a\nmax_steps: -2\n---\n", "positive whole number"),
        ("---\nname: a\nmodel:\n  prefer: cloud\n---\n", "local, remote or any"),
        ("---\nname: a\ntools: read_file\n---\n", "list of tool names"),
        ("---\nname: a\n", "no closing"),
        ("---\nname a\n---\n", "expected 'key: value'"),
    ],
)
def test_broken_definitions_say_what_is_wrong(text: str, problem: str) -> None:
    with pytest.raises(AgentDefinitionError, match=problem):
        parse_agent(text, "user/agents/x.md")


async def test_shipped_and_user_agents_load_and_bad_files_are_reported() -> None:
    vfs = Vfs()
    vfs.mount(Volume("system", system_storage(), writable=False))
    vfs.mount(Volume("user", MemoryStorage(), writable=True))
    await vfs.write_text("user/agents/coder.md", FULL)
    await vfs.write_text("user/agents/broken.md", "---\nname: x\nmax_steps: 0\n---\n")
    agents, problems = await load_agents(vfs)
    assert {"system", "writer", "coder"} <= set(agents)
    assert "delegate" in agents["system"].tools
    assert agents["coder"].source == "user/agents/coder.md"
    assert problems == ["user/agents/broken.md: 'max_steps' must be a positive whole number."]
