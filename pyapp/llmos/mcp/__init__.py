"""The Model Context Protocol, both ways.

- :mod:`llmos.mcp.client`: LLMos talks to other MCP servers (pure Python, runs in the browser).
- :mod:`llmos.mcp.server`: ``llmos mcp`` serves LLMos's tools and files to MCP clients over
  stdio or Streamable HTTP. Native only: it needs the ``mcp`` extra (the official Python SDK).
"""
