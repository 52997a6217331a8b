"""Learning from use: execution traces of agent turns, outcome signals, and reflection that
turns repeated successful work into Agent Skill proposals (see :mod:`llmos.learning.host`)."""
