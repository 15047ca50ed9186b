"""Validation before Python: the Go edge answers invalid input with exactly
the 422 Python would give, without taking an interpreter."""

from __future__ import annotations

import importlib
import sys
import threading
import time
from urllib.parse import quote

import pytest
import requests

from .conftest import APPS, REPO

# (method, path, JSON body or None): valid and invalid inputs of every kind.
CASES = [
    ("GET", "/ints/5", None),
    ("GET", "/ints/0", None),
    ("GET", "/ints/1001", None),
    ("GET", "/ints/abc", None),
    ("GET", "/ints/" + quote("'; DROP TABLE users; --", safe=""), None),
    ("GET", "/ints/5.0", None),
    ("GET", "/ints/5.5", None),
    ("GET", "/ints/+7?q=4", None),
    ("GET", "/ints/7?q=5", None),
    ("GET", "/ints/7?q=-5", None),
    ("GET", "/ints/7?q=x&q=2", None),
    ("GET", "/ints/7?q=2&q=x", None),
    ("GET", "/ints/99999999999999999999", None),
    ("GET", "/ints/abc?q=zz", None),
    ("GET", "/floats?x=1.5", None),
    ("GET", "/floats?x=0.1", None),
    ("GET", "/floats", None),
    ("GET", "/floats?x=nan", None),
    ("GET", "/floats?x=inf", None),
    ("GET", "/floats?x=1e1", None),
    ("GET", "/floats?x=1e999", None),
    ("GET", "/floats?x=abc&y=def", None),
    ("GET", "/floats?x=2&y=", None),
    ("GET", "/strs/ab", None),
    ("GET", "/strs/a", None),
    ("GET", "/strs/abcdef?t=abcd", None),
    ("GET", "/strs/" + quote("é", safe="") + "x", None),
    ("GET", "/bools?b=yes", None),
    ("GET", "/bools?b=maybe&c=2", None),
    ("GET", "/bools", None),
    ("POST", "/items", {"name": "a", "price": 1.5}),
    ("POST", "/items", {"name": "a"}),
    ("POST", "/items", {}),
    ("POST", "/items", []),
    ("POST", "/items", "x"),
    ("POST", "/items", {"name": 5, "price": "abc", "count": 1.5, "active": "maybe"}),
    ("POST", "/items", {"name": "a", "price": "2.5", "count": "3", "active": "on"}),
    ("POST", "/items", {"name": None, "price": None, "count": None, "active": None}),
    ("POST", "/items", {"name": "a", "price": True, "count": False, "active": 1}),
    ("POST", "/items", {"name": "a", "price": 1, "count": 2.0, "active": 2}),
    ("POST", "/items", {"name": "a", "price": 1, "count": 12345678901234567890}),
    ("POST", "/items", {"name": ["a"], "price": {"x": 1}, "extra": 1}),
]


@pytest.fixture(scope="module")
def python_client():
    """The same app judged by Python alone: gofastapi's in-process TestClient."""
    sys.path[:0] = [str(REPO), str(APPS)]
    try:
        from gofastapi.testclient import TestClient

        module = importlib.import_module("edge_validate")
        yield TestClient(module.app)
    finally:
        del sys.path[:2]


@pytest.fixture(scope="module")
def server():
    from .conftest import Server

    srv = Server("edge_validate:app", args=["--workers", "1", "--queue-size", "1"]).start()
    yield srv
    srv.kill()


def answer(resp):
    try:
        return resp.status_code, resp.json()
    except ValueError:
        return resp.status_code, resp.text


@pytest.mark.parametrize("method, path, body", CASES, ids=[f"{m} {p} {b!r}"[:60] for m, p, b in CASES])
def test_go_and_python_agree(method, path, body, server, python_client):
    kwargs = {} if body is None else {"json": body}
    got = answer(requests.request(method, server.url(path), timeout=10, **kwargs))
    want = answer(python_client.request(method, path, **kwargs))
    assert got == want


def test_invalid_input_never_takes_an_interpreter(server):
    """With the only worker busy and the queue full, invalid requests are still
    answered 422 at once (by Go), while a valid one is refused with 503."""
    slow = [threading.Thread(target=requests.get, args=(server.url("/slow?secs=2"),), kwargs={"timeout": 10})
            for _ in range(2)]
    for t in slow:
        t.start()
        time.sleep(0.3)
    try:
        start = time.monotonic()
        for method, path, body in (("GET", "/ints/abc", None), ("POST", "/items", {"name": "a"}),
                                   ("GET", "/floats", None)):
            r = requests.request(method, server.url(path), json=body, timeout=5)
            assert r.status_code == 422, r.text
        assert time.monotonic() - start < 1.0
        assert requests.get(server.url("/ints/5"), timeout=5).status_code == 503
    finally:
        for t in slow:
            t.join()


def test_no_plan_with_middleware(start_server, tmp_path):
    """An app with middleware sees every request, so Python judges it."""
    (tmp_path / "mw_app.py").write_text(
        "from gofastapi import GoFastAPI\n"
        "app = GoFastAPI()\n"
        "seen = []\n"
        "@app.middleware('http')\n"
        "def mw(request, call_next):\n"
        "    response = call_next(request)\n"
        "    response.headers['x-mw'] = 'yes'\n"
        "    return response\n"
        "@app.get('/n/{n}')\n"
        "def n(n: int):\n"
        "    return {'n': n}\n"
    )
    srv = start_server("mw_app:app", app_dir=tmp_path, args=["--workers", "1"])
    r = requests.get(srv.url("/n/abc"), timeout=5)
    assert r.status_code == 422 and r.headers.get("x-mw") == "yes"


def _random_cases(n: int, seed: int = 20261204) -> list[tuple[str, str, object]]:
    """Random inputs built from the characters the conversion rules care about."""
    import random

    rnd = random.Random(seed)
    atoms = ["0", "1", "5", "9", "12", "-", "+", ".", "e", "E", "inf", "nan", "x", "yes", "off", "T", " ", "%20", "+"]

    def word() -> str:
        return "".join(rnd.choice(atoms) for _ in range(rnd.randint(0, 4)))

    values = [None, True, False, 0, 1, 2, -3, 0.5, 1.0, 1e3, -0.0, "", "1", "2.5", " 7 ", "on", "abc", [], {}, [1], {"a": 1}]
    out: list[tuple[str, str, object]] = []
    for _ in range(n):
        kind = rnd.randrange(5)
        if kind == 0:
            out.append(("GET", f"/ints/{quote(word() or '0', safe='')}?q={word()}", None))
        elif kind == 1:
            out.append(("GET", f"/floats?x={word()}" + (f"&y={word()}" if rnd.random() < 0.5 else ""), None))
        elif kind == 2:
            out.append(("GET", f"/strs/{quote(word() or 'a', safe='')}?t={word()}", None))
        elif kind == 3:
            out.append(("GET", f"/bools?b={word()}&c={word()}", None))
        else:
            body = {k: rnd.choice(values) for k in ("name", "price", "count", "active") if rnd.random() < 0.8}
            out.append(("POST", "/items", body))
    return out


def test_go_and_python_agree_on_random_inputs(server, python_client):
    mismatches = []
    for method, path, body in _random_cases(300):
        kwargs = {} if body is None else {"json": body}
        got = answer(requests.request(method, server.url(path), timeout=10, **kwargs))
        want = answer(python_client.request(method, path, **kwargs))
        if got != want:
            mismatches.append((method, path, body, got, want))
    assert mismatches == [], mismatches[:3]
