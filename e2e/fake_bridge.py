"""A fake OS behind the page's bridge, for UI tests that need the OS in a given state.

``fake_bridge(name, setup)`` is an init script: ``setup`` (JS) fills ``fake.handlers`` (method
-> function of the params, returning the result or throwing ``{code, message}``) on
``window[name]``; every other method goes to the real OS. ``fake.calls`` records the faked
calls and ``fake.emit(name, data)`` sends the UI an event.
"""

from __future__ import annotations

INTERCEPT = """
  fake.emit = (name, data) => {
    for (const fn of fake.listeners) fn(JSON.stringify({ name, data }));
  };
  let bridge;
  Object.defineProperty(window, "llmosBridge", {
    configurable: true,
    get: () => bridge,
    set(real) {
      bridge = {
        ...real,
        subscribe(fn) { fake.listeners.push(fn); return real.subscribe(fn); },
        async request(method, paramsJson) {
          const handler = fake.handlers[method];
          if (!handler) return real.request(method, paramsJson);
          const params = JSON.parse(paramsJson || "{}");
          fake.calls.push({ method, params });
          try {
            return JSON.stringify({ ok: true, result: await handler(params) });
          } catch ({ code, message }) {
            return JSON.stringify({ ok: false, error: { code, message } });
          }
        },
      };
    },
  });
"""


def fake_bridge(name: str, setup: str, **state: str) -> str:
    """The init script: ``window[name]`` is the fake, with ``calls``, ``listeners``, and
    ``state`` (JS expressions) as its first fields."""
    fields = ", ".join(["calls: []", "listeners: []", *(f"{k}: {v}" for k, v in state.items())])
    head = f"  const fake = (window.{name} = {{ {fields} }});\n"
    return f"(() => {{\n{head}{setup}{INTERCEPT}}})();\n"
