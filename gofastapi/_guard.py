"""The import guard: which modules handler code may import.

Installed by ``_dispatch.load`` in every serving interpreter after the app
is imported. It checks imports made *by the app's own code* (files under the
app directory, outside site-packages), including lazy imports inside
handlers; libraries and the standard library import what they need.

- ``allowed_imports=None`` (default): the app may import anything except the
  default deny-list of process-spawning and FFI modules.
- ``allowed_imports=[...]``: the app may import only those top-level modules,
  its own modules and ``gofastapi``.

A refused import raises ``ImportError`` in the handler, is logged on
``gofastapi.security`` (``event: import_refused``) and counted by the server
(through the audit event ``gofastapi.import_refused``).

This layer is plain Python and can be bypassed (``sys.modules``,
``importlib`` internals, attribute chains). The stronger layer is the
server's C audit hook, which refuses process spawning, ``ctypes`` and
signals to the server however they are reached; the container is the
sandbox (SECURITY.md).
"""

from __future__ import annotations

import builtins
import importlib
import importlib.util
import logging
import os
import sys
from collections.abc import Callable, Iterable
from typing import Any

__all__ = ["DEFAULT_DENY", "install"]

#: Refused unless listed in ``allowed_imports``.
DEFAULT_DENY = frozenset(
    {
        "subprocess",
        "_posixsubprocess",
        "multiprocessing",
        "pty",
        "ctypes",
        "_ctypes",
        "cffi",
        "_cffi_backend",
    }
)

_log = logging.getLogger("gofastapi.security")
_installed = False


def _env_override() -> list[str] | None:
    raw = os.environ.get("GOFASTAPI_ALLOWED_IMPORTS")
    if raw is None:
        return None
    return [m.strip() for m in raw.split(",") if m.strip()]


class _Policy:
    def __init__(self, app_dir: str, allowed: Iterable[str] | None) -> None:
        self.app_dir = os.path.realpath(app_dir) + os.sep
        self.allowed = None if allowed is None else frozenset(allowed) | {"gofastapi"}
        self.deny = DEFAULT_DENY - (self.allowed or frozenset())
        self._is_app_file: dict[str, bool] = {}
        self._is_app_module: dict[str, bool] = {}

    def app_file(self, filename: Any) -> bool:
        """Whether ``filename`` is the app's own code (cached per file)."""
        if not isinstance(filename, str):
            return False
        known = self._is_app_file.get(filename)
        if known is None:
            real = os.path.realpath(filename)
            known = real.startswith(self.app_dir) and not any(
                part in real for part in ("/site-packages/", "/dist-packages/")
            )
            self._is_app_file[filename] = known
        return known

    def app_module(self, top: str) -> bool:
        """Whether top-level module ``top`` lives in the app directory."""
        known = self._is_app_module.get(top)
        if known is None:
            module = sys.modules.get(top)
            origin = getattr(module, "__file__", None) if module is not None else None
            if origin is None and module is None:
                try:
                    spec = importlib.util.find_spec(top)
                except (ImportError, ValueError):
                    spec = None
                origin = spec.origin if spec is not None else None
            known = self.app_file(origin)
            self._is_app_module[top] = known
        return known

    def refuses(self, top: str) -> bool:
        if top in self.deny:
            return True
        return self.allowed is not None and top not in self.allowed and not self.app_module(top)


def _refuse(name: str) -> ImportError:
    sys.audit("gofastapi.import_refused", name)
    _log.warning(
        "import refused: %s",
        name,
        extra={"event": "import_refused", "import": name},
    )
    return ImportError(
        f"import of {name!r} is refused in this app (see allowed_imports)", name=name
    )


def install(app_dir: str, allowed: list[str] | None) -> None:
    """Install the guard in this interpreter (once)."""
    global _installed
    if _installed:
        return
    _installed = True
    override = _env_override()
    policy = _Policy(app_dir, override if override is not None else allowed)
    real_import = builtins.__import__

    def guarded_import(
        name: str,
        globals: dict[str, Any] | None = None,
        locals: Any = None,
        fromlist: Any = (),
        level: int = 0,
    ) -> Any:
        if level == 0 and globals is not None and policy.app_file(globals.get("__file__")):
            top = name.partition(".")[0]
            if policy.refuses(top):
                raise _refuse(name)
        return real_import(name, globals, locals, fromlist, level)

    builtins.__import__ = guarded_import
    real_import_module: Callable[..., Any] = importlib.import_module

    def guarded_import_module(name: str, package: str | None = None) -> Any:
        caller = sys._getframe(1).f_globals.get("__file__")
        if not name.startswith(".") and policy.app_file(caller) and policy.refuses(name.partition(".")[0]):
            raise _refuse(name)
        return real_import_module(name, package)

    importlib.import_module = guarded_import_module  # type: ignore[assignment]
    if _in_subinterpreter():
        _contain_exit()


def _in_subinterpreter() -> bool:
    try:
        import _interpreters
    except ImportError:  # pragma: no cover - CPython < 3.13
        return False
    current, _ = _interpreters.get_current()
    main, _ = _interpreters.get_main()
    return bool(current != main)


def _contain_exit() -> None:
    """Make ``os._exit`` in a sub-interpreter end the request, not the server.

    All sub-interpreters share the server's process, so ``os._exit`` would
    stop it. The replacement raises ``SystemExit``, which the dispatcher turns
    into a 500 for that request.
    """

    def _exit(status: int = 0) -> None:
        sys.audit("gofastapi.import_refused", "os._exit")
        _log.warning("os._exit refused in a sub-interpreter", extra={"event": "exit_refused"})
        raise SystemExit(status)

    import posix

    os._exit = _exit
    posix._exit = _exit  # type: ignore[attr-defined]
