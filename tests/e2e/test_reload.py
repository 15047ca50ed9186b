"""Hot reload (--reload): an edited handler is picked up, a broken edit keeps the old version."""

from __future__ import annotations

import os
import time
from pathlib import Path

import pytest
import requests

from .conftest import run_cli

VERSION = """\
from gofastapi import GoFastAPI

app = GoFastAPI()


@app.get("/v")
def v():
    return {{"v": {n}}}
{extra}
"""

NEW_ROUTE = """

@app.get("/new")
def new():
    return {"new": True}
"""


def write(path: Path, text: str) -> None:
    path.write_text(text)
    # Make sure the change is visible even on coarse file-time clocks.
    stamp = time.time() + 1
    os.utime(path, (stamp, stamp))


def wait_for(srv, path: str, want: dict, timeout: float = 10.0) -> dict:
    deadline = time.monotonic() + timeout
    body: dict = {}
    while time.monotonic() < deadline:
        r = requests.get(srv.url(path), timeout=5)
        body = r.json()
        if r.status_code == 200 and body == want:
            return body
        time.sleep(0.2)
    raise AssertionError(f"{path} still answers {body}, want {want}")


@pytest.mark.parametrize("runtime", ["subinterpreters", "process"], ids=["subinterpreters", "process"])
def test_reload_picks_up_edits_and_survives_a_broken_one(runtime, start_server, tmp_path):
    app = tmp_path / "reload_app.py"
    write(app, VERSION.format(n=1, extra=""))
    srv = start_server("reload_app:app", app_dir=tmp_path, args=["--workers", "2", "--runtime", runtime, "--reload"])
    assert srv.wait_for_text("--reload is on", timeout=5), "no loud warning for --reload"
    assert requests.get(srv.url("/v"), timeout=5).json() == {"v": 1}
    assert requests.get(srv.url("/new"), timeout=5).status_code == 404

    write(app, VERSION.format(n=2, extra=NEW_ROUTE))
    wait_for(srv, "/v", {"v": 2})
    assert requests.get(srv.url("/new"), timeout=5).json() == {"new": True}  # the route table too

    write(app, "from gofastapi import GoFastAPI\napp = GoFastAPI(\n")  # a syntax error
    assert srv.wait_for_log(lambda rec: rec.get("msg", "").startswith("reload failed"), timeout=10), srv.logs()[-5:]
    failed = [rec for rec in srv.json_logs() if rec.get("msg", "").startswith("reload failed")][-1]
    assert "SyntaxError" in failed.get("err", "") + failed.get("traceback", "")
    for _ in range(5):  # the previous version keeps serving
        assert requests.get(srv.url("/v"), timeout=5).json() == {"v": 2}

    write(app, VERSION.format(n=3, extra=""))
    wait_for(srv, "/v", {"v": 3})


def test_reload_does_not_follow_symlinks_out_of_the_app_dir(start_server, tmp_path):
    app_dir, outside = tmp_path / "app", tmp_path / "outside"
    app_dir.mkdir()
    outside.mkdir()
    write(app_dir / "reload_app.py", VERSION.format(n=1, extra=""))
    (outside / "other.py").write_text("x = 1\n")
    (app_dir / "linked").symlink_to(outside, target_is_directory=True)
    srv = start_server("reload_app:app", app_dir=app_dir, args=["--workers", "1", "--reload"])
    write(outside / "other.py", "x = 2\n")
    time.sleep(1.5)
    assert not any(rec.get("msg") in ("reloaded", "reload failed: the previous version keeps serving")
                   for rec in srv.json_logs()), "a change outside the app dir triggered a reload"


@pytest.mark.parametrize(
    "args, needle",
    [
        (["--host", "0.0.0.0", "--reload"], "--reload-any-host"),
        (["--runtime", "main", "--reload"], "--runtime main"),
    ],
    ids=["public-host", "main-runtime"],
)
def test_reload_refused_where_unsafe(args, needle, tmp_path):
    write(tmp_path / "reload_app.py", VERSION.format(n=1, extra=""))
    res = run_cli(["--app", "reload_app:app", "--app-dir", str(tmp_path), "--port", "0", *args])
    assert res.returncode != 0
    assert needle in res.output
