"""The UI room: Python on the page's main thread, run by MicroPython through PyScript.

Written for MicroPython's subset (no typing, no dataclasses). It never touches storage or the
kernel itself: every action is a message through ``window.llmosBridge`` (``web/bridges/boot.mjs``)
to the OS worker or the kernel, following :mod:`llmos.protocol`.
"""
