"""Benchmark app for Uvicorn + FastAPI. Handlers match gfa_app.py line for line."""

from dataclasses import dataclass

from fastapi import Body, FastAPI
from pydantic import BaseModel

app = FastAPI()

CPU_LOOP = 35_000  # ≈2 ms of pure Python on CPython 3.13 on the 2-core bench machine


@app.get("/hello")
def hello():
    return {"message": "hello"}


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/items")
def create_item(item: dict = Body(...)):
    return {"received": item, "size": len(item)}


@app.get("/cpu")
def cpu():
    total = 0
    for i in range(CPU_LOOP):
        total += i * i
    return {"result": total}


# Uvicorn-only for now: pydantic does not load in own-GIL sub-interpreters.
class User(BaseModel):
    name: str
    email: str
    age: int


@app.post("/users")
def create_user(user: User):
    return {"name": user.name, "email": user.email, "age": user.age}


@dataclass
class Order:
    name: str
    qty: int
    price: float


@app.post("/orders")
def create_order(order: Order):
    return {"name": order.name, "total": order.qty * order.price}
