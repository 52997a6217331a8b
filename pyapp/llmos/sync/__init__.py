"""GitHub sync of skills (and opted-in folders) and installing skills from GitHub repositories:
:mod:`llmos.sync.github` is the REST client, :mod:`llmos.sync.sync` the engine and
:mod:`llmos.sync.methods` the ``sync.*`` and ``skills.install`` OS methods."""
