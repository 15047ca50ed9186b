"""The app of the edge-security tests (tests/e2e/test_edge_security.py, test_tls.py): served as edge_app:app.

Every handler logs "edge-hit <path> <tag>" on the "e2e.edge" logger, so a test
can prove that a request the edge must stop never reached Python.
"""

import logging
import time

from gofastapi import GoFastAPI, Query, Request

app = GoFastAPI(
    title="edge",
    cors_origins=["https://good.example"],
    cors_methods=["GET", "POST"],
    cors_headers=["X-Custom"],
    cors_max_age=321,
    max_request_size="1KB",  # 1024 bytes
)
log = logging.getLogger("e2e.edge")


def hit(path: str, tag: str | None) -> None:
    log.warning("edge-hit %s %s", path, tag)


@app.get("/hello")
def hello(tag: str | None = None, q: str | None = None):
    hit("/hello", tag)
    return {"hello": "world", "tag": tag}


@app.post("/json")
def json_body(data: dict, tag: str | None = None):
    hit("/json", tag)
    return {"received": data, "tag": tag}


@app.post("/json/big", max_request_size="256KB")
def json_big(data: dict | list, tag: str | None = None):
    hit("/json/big", tag)
    return {"type": type(data).__name__, "tag": tag}


@app.post("/raw")
async def raw(request: Request, tag: str | None = None):
    body = await request.body()
    hit("/raw", tag)
    return {"len": len(body), "tag": tag}


@app.get("/nap")
def nap(secs: float = Query(ge=0, le=5)):
    """Sleeps and reports when it ran, so a test can measure how many ran at once."""
    start = time.time()
    time.sleep(secs)
    return {"start": start, "end": time.time()}
