"""The kernel: where user and agent code runs, away from the OS and its secrets.

:mod:`~llmos.kernel.sandbox` is the seam the OS runs code through. Inside the kernel,
:mod:`~llmos.kernel.session` runs cells (:mod:`~llmos.kernel.executor`) in a workspace
(:mod:`~llmos.kernel.workspace`: files in, changed files out) and collects images
(:mod:`~llmos.kernel.display`, :mod:`~llmos.kernel.png` for charts without matplotlib);
:mod:`~llmos.kernel.hints` explains imports that this build cannot satisfy. The kernel runs in
Pyodide in an opaque-origin iframe (``web/bridges/kernel-host.mjs``, reached from the OS through
:mod:`llmos.platform.browser.sandbox`) or, natively, as a child process
(:mod:`llmos.kernel.stdio_main`, driven by :mod:`llmos.platform.native_sandbox`).
:mod:`~llmos.kernel.service_methods` is the ``kernel.execute`` OS method.
"""
