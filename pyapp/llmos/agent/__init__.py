"""The agent: markdown agent definitions, the tool registry and the loop that plans, calls tools
and answers."""
