"""Small DOM helpers for the UI (MicroPython)."""

from js import document, window
from pyscript.ffi import create_proxy

_proxies = []


def by_id(name):
    return document.getElementById(name)


def on(element, event, handler):
    """Attach ``handler(event)``; the proxy is kept alive for the page's lifetime."""
    proxy = create_proxy(handler)
    _proxies.append(proxy)
    element.addEventListener(event, proxy)


def element(tag, text="", cls=""):
    node = document.createElement(tag)
    if text:
        node.textContent = text
    if cls:
        node.className = cls
    return node


def active():
    """The focused element (to give focus back after a dialog closes)."""
    return document.activeElement


def notice(message):
    """Show a readable message at the top of the desktop (empty hides it)."""
    box = by_id("notice")
    box.textContent = message
    box.hidden = not message


def status(message):
    by_id("status").textContent = message


def prompt(question, default=""):
    answer = window.prompt(question, default)
    return None if answer is None else str(answer)


def confirm(question):
    return bool(window.confirm(question))
