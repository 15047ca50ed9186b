"""gofastapi imports and serves requests inside own-GIL sub-interpreters (CPython 3.13 ``_interpreters``).

Runs in a child process so a crash in CPython cannot take the test run down.
"""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytest.importorskip("_interpreters")

APP = """
import asyncio, dataclasses, logging
from gofastapi import GoFastAPI, Depends, Query
from gofastapi.security import JWTBearer

app = GoFastAPI(max_request_size="1MB")

@dataclasses.dataclass
class Item:
    name: str
    price: float

def common(q: str | None = None, limit: int = Query(10, ge=1)):
    return {"q": q, "limit": limit}

@app.get("/hello")
def hello():
    return {"message": "hello"}

@app.get("/items/{item_id}")
def read(item_id: int, params: dict = Depends(common)):
    logging.getLogger("subapp").info("read %s", item_id)
    return {"item_id": item_id, **params}

@app.post("/items")
async def create(item: Item):
    await asyncio.sleep(0)
    return item

@app.get("/me")
def me(claims: dict = Depends(JWTBearer(secret_key="k" * 32))):
    return claims
"""

DRIVER = '''
import json, sys, _interpreters
sys.path.insert(0, {root!r})
import gofastapi  # the main interpreter imports the package first, as the Go server does
from gofastapi import _dispatch

workers = [_interpreters.create("isolated") for _ in range(2)]
configs = [_interpreters.get_config(i) for i in workers]
code = """
import json, sys
sys.path.insert(0, {root!r})
from gofastapi import _dispatch
import gofastapi.testclient
description = json.loads(_dispatch.load("subapp:app", {app_dir!r}))
h = "host: localhost\\\\r\\\\n"
results = [
    _dispatch.handle(0, "GET", "/hello", "", h, b"", "127.0.0.1", 1, "http", "r1", ()),
    _dispatch.handle(1, "GET", "/items/3", "q=x&limit=2", h, b"", "127.0.0.1", 1, "http", "r2", ("3",)),
    _dispatch.handle(1, "GET", "/items/3", "limit=0", h, b"", "127.0.0.1", 1, "http", "r3", ("3",)),
    _dispatch.handle(2, "POST", "/items", "", h, b'{{"name": "n", "price": 2}}', "127.0.0.1", 1, "http", "r4", ()),
    _dispatch.handle(3, "GET", "/me", "", h + 'x-gofastapi-jwt-claims: {{"sub": "u"}}\\\\r\\\\n', b"", "127.0.0.1", 1, "http", "r5", ()),
    _dispatch.handle(3, "GET", "/me", "", h + "authorization: Bearer a.b.c\\\\r\\\\n", b"", "127.0.0.1", 1, "http", "r6", ()),
]
_dispatch.shutdown()
with open(OUT, "w") as f:
    json.dump({{"fingerprint": description["fingerprint"],
                "results": [[s, hd.decode(), b.decode()] for s, hd, b in results]}}, f)
"""
outputs = []
for n, worker in enumerate(workers):
    out = {out_dir!r} + f"/worker{{n}}.json"
    failure = _interpreters.run_string(worker, f"OUT = {{out!r}}\\n" + code)
    if failure is not None:
        print("FAILED", failure.type.__name__, failure.msg, file=sys.stderr)
        sys.exit(1)
    outputs.append(json.load(open(out)))
for worker in reversed(workers):
    _interpreters.destroy(worker)
print(json.dumps({{"gil": [c.gil for c in configs], "outputs": outputs}}))
'''


def test_app_serves_inside_own_gil_subinterpreters(tmp_path: Path) -> None:
    (tmp_path / "subapp.py").write_text(textwrap.dedent(APP))
    script = DRIVER.format(root=str(ROOT), app_dir=str(tmp_path), out_dir=str(tmp_path))
    proc = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 0, proc.stderr
    report = json.loads(proc.stdout.strip().splitlines()[-1])
    assert report["gil"] == ["own", "own"]
    first, second = report["outputs"]
    assert first["fingerprint"] == second["fingerprint"]
    for output in (first, second):
        hello, item, invalid, created, verified, refused = output["results"]
        assert verified[0] == 200 and json.loads(verified[2]) == {"sub": "u"}
        assert refused[0] == 401 and json.loads(refused[2]) == {
            "detail": "Invalid or expired token"
        }
        assert hello == [
            200,
            "content-type: application/json\r\n",
            '{"message":"hello"}',
        ]
        assert item[0] == 200 and json.loads(item[2]) == {
            "item_id": 3,
            "q": "x",
            "limit": 2,
        }
        assert (
            invalid[0] == 422
            and json.loads(invalid[2])["detail"][0]["type"] == "greater_than_equal"
        )
        assert created[0] == 200 and json.loads(created[2]) == {
            "name": "n",
            "price": 2.0,
        }
    log_lines = [
        json.loads(line) for line in proc.stderr.splitlines() if line.startswith("{")
    ]
    assert [line["request_id"] for line in log_lines if line["logger"] == "subapp"] == [
        "r2",
        "r2",
    ]
