"""Routes whose input the Go edge validates before Python (protocol.md §2.2)."""

import time
from dataclasses import dataclass
from typing import Annotated

from gofastapi import GoFastAPI, Path, Query

app = GoFastAPI()


@dataclass
class Item:
    name: Annotated[str, Query()]  # plain str field (the marker is ignored on a field)
    price: float
    count: int = 1
    active: bool = True


@app.get("/ints/{n}")
def ints(n: Annotated[int, Path(ge=1, le=1000)], q: Annotated[int, Query(gt=-5, lt=5)] = 0):
    return {"n": n, "q": q}


@app.get("/floats")
def floats(x: Annotated[float, Query(ge=0.5, le=10)], y: float | None = None):
    return {"x": x, "y": y}


@app.get("/strs/{s}")
def strs(s: Annotated[str, Path(min_length=2, max_length=5)], t: Annotated[str, Query(max_length=3)] = "d"):
    return {"s": s, "t": t}


@app.get("/bools")
def bools(b: bool, c: bool = False):
    return {"b": b, "c": c}


@app.post("/items")
def create(item: Item):
    return {"name": item.name, "price": item.price, "count": item.count, "active": item.active}


@app.get("/slow")
def slow(secs: float = 1.0):
    time.sleep(secs)
    return {"slept": secs}
