"""Applets: small apps (``user/applets/<name>/``) the agent builds and the desktop runs."""
