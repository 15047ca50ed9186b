"""A pure-Python app (served as rt_basic:app) that loads in every runtime.

The same behaviour suite runs against it under --runtime subinterpreters,
process and main; /whoami tells the test which runtime really ran the handler.
"""

import asyncio
import os
import sys
import threading
from dataclasses import dataclass, field

from gofastapi import GoFastAPI, Header, HTTPException, Query

app = GoFastAPI(title="rt-basic")


def identity() -> dict:
    try:
        import _interpreters

        interp = _interpreters.get_current()[0]
    except Exception:  # noqa: BLE001 - the import guard may refuse it
        interp = None
    return {
        "pid": os.getpid(),
        "interp": interp,
        "modules": id(sys.modules),
        "thread": threading.get_native_id(),
    }


@app.get("/whoami")
def whoami():
    return identity()


@app.get("/items/{item_id}")
def read_item(
    item_id: int,
    q: int | None = None,
    ratio: float = 0.5,
    flag: bool = False,
    tag: list[str] = Query([]),
):
    return {
        "item_id": item_id,
        "item_id_type": type(item_id).__name__,
        "q": q,
        "q_type": type(q).__name__,
        "ratio": ratio,
        "flag": flag,
        "tag": tag,
    }


@app.get("/bounded")
def bounded(n: int = Query(ge=1, le=10)):
    return {"n": n}


@dataclass
class Dimensions:
    width: float
    height: float


@dataclass
class Product:
    name: str
    price: float
    size: Dimensions
    tags: list[str] = field(default_factory=list)


@app.post("/products", status_code=201)
def create_product(product: Product):
    return {
        "name": product.name,
        "price": product.price,
        "area": product.size.width * product.size.height,
        "tags": product.tags,
        "types": [type(product).__name__, type(product.size).__name__],
    }


@app.get("/teapot")
def teapot():
    raise HTTPException(
        status_code=418,
        detail={"why": "short and stout"},
        headers={"X-Tea": "earl-grey"},
    )


@app.get("/boom")
def boom():
    raise RuntimeError("internal secret S3CR3T-rt-basic at /srv/app.py")


@app.get("/async")
async def async_handler(delay: float = Query(0.01, ge=0, le=1)):
    await asyncio.sleep(delay)
    results = await asyncio.gather(*(asyncio.sleep(0, result=i) for i in range(3)))
    return {"async": True, "results": results}


@app.get("/echo/{token}")
def echo(token: str, q: str, x_token: str = Header()):
    return {"path": token, "query": q, "header": x_token}


@app.post("/only-post")
def only_post():
    return {"ok": True}
