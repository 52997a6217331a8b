"""Calls from the UI to the OS worker and the kernel, as JSON through ``window.llmosBridge``."""

import asyncio
import json

from js import window
from pyscript.ffi import create_proxy

_keep = []


class OsError(Exception):
    """A reply with ``ok: false``; ``str()`` is the OS's readable message."""

    def __init__(self, code, message):
        super().__init__(message)
        self.code = code


async def call(method, **params):
    return checked(await window.llmosBridge.request(method, json.dumps(params)))


def subscribe(handler):
    """``handler(name, data)`` for every OS/kernel event, starting with the latest of each."""

    def receive(text):
        event = json.loads(text)
        handler(event["name"], event["data"])

    proxy = create_proxy(receive)
    _keep.append(proxy)
    window.llmosBridge.subscribe(proxy)


async def execute(code, on_stream):
    proxy = create_proxy(on_stream)
    _keep.append(proxy)
    try:
        return json.loads(await window.llmosBridge.exec(code, proxy))
    finally:
        _keep.remove(proxy)


async def interrupt():
    return str(await window.llmosBridge.interrupt())


def checked(reply_json):
    reply = json.loads(reply_json)
    if not reply.get("ok"):
        error = reply.get("error") or {}
        raise OsError(error.get("code", "error"), error.get("message", "Unknown error"))
    return reply.get("result")


async def upload(folder, file):
    """Store a browser ``File`` in ``folder``; the bytes never enter MicroPython."""
    return checked(await window.llmosFiles.upload(folder, file))


async def download(path):
    """Save a VFS file to the user's computer through the browser."""
    return checked(await window.llmosFiles.download(path))


def spawn(coro, on_error):
    """Run ``coro`` in the background; an OS error reaches the user through ``on_error(text)``."""

    async def guarded():
        try:
            await coro
        except OsError as error:
            on_error(str(error))

    asyncio.create_task(guarded())
