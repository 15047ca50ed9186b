"""Handlers that misbehave on purpose (served as limits_app:app) for tests/e2e/test_limits.py.

Endless loops, a handler that swallows the timeout, code stuck in C, a memory
bomb, forbidden imports, process spawning and signals through bypasses, and
calls that would end the process. Only the test suite starts it, always on
127.0.0.1; the memory bomb is only requested with --max-memory-per-worker and
stops by itself at 3 GB if the limit fails.

Only stdlib modules the import guard allows are imported at the top; the
modules under test (subprocess, ctypes) are imported lazily, inside handlers,
where the guard checks them.
"""

import logging
import os
import signal
import sys
import time

from gofastapi import GoFastAPI, Query

app = GoFastAPI(title="limits")
log = logging.getLogger("limits")


def identity() -> dict:
    """Which process and which interpreter ran the handler."""
    interp = None
    mod = sys.modules.get(
        "_interpreters"
    )  # no import statement: the guard may restrict imports
    if mod is not None:
        interp = mod.get_current()[0]
    return {"pid": os.getpid(), "interp": interp, "modules": id(sys.modules)}


def started(tag: str | None) -> None:
    if tag is not None:
        log.warning("limits-start %s", tag)  # lets a test know the handler is running


@app.get("/whoami")
def whoami():
    return identity()


# -- timeouts -------------------------------------------------------------------------------


@app.get("/spin")
def spin(tag: str | None = None):
    started(tag)
    n = 0
    while True:  # pure Python: interruptible at every backward jump
        n += 1


@app.get("/spin-route", timeout=1)
def spin_route(tag: str | None = None):
    started(tag)
    n = 0
    while True:
        n += 1


@app.get("/swallow")
def swallow(tag: str | None = None):
    started(tag)
    while True:
        try:
            n = 0
            while True:
                n += 1
        except BaseException:  # noqa: BLE001 - swallows the TimeoutError on purpose
            pass


@app.get("/stuck")
def stuck(tag: str | None = None):
    started(tag)
    time.sleep(600)  # in C: a pending call cannot interrupt it
    return {"woke": True}


@app.get("/stuck-route", timeout=1)
def stuck_route(tag: str | None = None):
    started(tag)
    time.sleep(600)
    return {"woke": True}


# -- memory ---------------------------------------------------------------------------------


@app.get("/bomb")
def bomb(max_mb: int = 3000):
    """10 MB blocks until the memory limit stops it (bounded, so a missing limit cannot sink the machine)."""
    chunks = []
    while len(chunks) * 10 < max_mb:
        chunks.append(bytearray(10 * 1024 * 1024))
    return {"allocated_mb": len(chunks) * 10}  # the limit never struck


# -- imports, spawning, signals -------------------------------------------------------------


@app.get("/import/subprocess")
def import_subprocess():
    import subprocess

    return {"rc": subprocess.run(["true"], check=False).returncode}


@app.get("/import/ctypes")
def import_ctypes():
    import ctypes

    return {"getpid": ctypes.CDLL(None).getpid(), "pid": os.getpid()}


@app.get("/import/json")
def import_json():
    import json  # not on an allow-list that names only subprocess and ctypes

    return {"json": json.dumps([1])}


def _system(how: str, path: str) -> int:
    cmd = f"touch {path}"  # a side effect the test can look for
    if how == "os":
        return os.system(cmd)
    if how == "dunder":
        return __import__("os").system(cmd)
    if how == "modules":
        return sys.modules["os"].system(cmd)
    if how == "posix":
        return sys.modules["posix"].system(cmd)
    raise ValueError(how)


@app.get("/system")
def system(how: str, path: str):
    return {"rc": _system(how, path)}


@app.get("/system-probe")
def system_probe(how: str, path: str):
    """Like /system, but reports what was raised instead of answering 500."""
    try:
        rc = _system(how, path)
    except BaseException as exc:  # noqa: BLE001
        return {"raised": type(exc).__name__, "message": str(exc)}
    return {"raised": None, "rc": rc}


@app.get("/spawn-probe")
def spawn_probe(path: str):
    """subprocess reached without an import statement the guard sees (no globals)."""
    try:
        __import__("subprocess").run(["touch", path], check=False)
    except BaseException as exc:  # noqa: BLE001
        return {"raised": type(exc).__name__, "message": str(exc)}
    return {"raised": None}


@app.get("/kill")
def kill(target: str = "self", sig: str = "SIGTERM"):
    pid = os.getpid() if target == "self" else os.getppid()
    os.kill(pid, getattr(signal, sig))
    return {"killed": pid}


@app.get("/kill-probe")
def kill_probe(target: str = "self", sig: str = "SIGTERM"):
    pid = os.getpid() if target == "self" else os.getppid()
    try:
        os.kill(pid, getattr(signal, sig))
    except BaseException as exc:  # noqa: BLE001
        return {"raised": type(exc).__name__, "message": str(exc)}
    return {"raised": None}


# -- ways to end a process or a request -----------------------------------------------------


@app.get("/os-exit")
def os_exit():
    os._exit(1)


@app.get("/sys-exit")
def sys_exit():
    sys.exit(3)


@app.get("/keyboard-interrupt")
def keyboard_interrupt():
    raise KeyboardInterrupt


@app.get("/recurse")
def recurse(depth: int = Query(0)):
    def down(n: int) -> int:
        return down(n + 1) + 1

    return {"depth": down(depth)}
