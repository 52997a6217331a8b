"""The kernel: where user and agent code runs, away from the OS and its secrets.

:mod:`llmos.kernel.executor` runs code and captures what it prints; :mod:`llmos.kernel.hints`
explains imports that this build cannot satisfy. The browser host that boots a kernel in an
opaque-origin iframe lives in ``web/bridges/kernel-host.mjs``.
"""
