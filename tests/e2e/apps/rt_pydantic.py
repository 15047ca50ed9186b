"""A pydantic app (served as rt_pydantic:app): the seed's UserInput plus nested models.

pydantic_core refuses own-GIL sub-interpreters, so the default (auto) runtime
must fall back to worker processes for this app. The runtime routes report the
worker's pid so tests can tell workers apart and kill one.
"""

import logging
import os
import time
import warnings
from typing import Optional

from pydantic import BaseModel, Field

from gofastapi import GoFastAPI, Query

with warnings.catch_warnings():
    warnings.simplefilter(
        "ignore"
    )  # PydanticDeprecatedSince20: the seed uses v1's @validator
    from pydantic import validator

    class UserInput(BaseModel):
        """The seed's model, verbatim."""

        username: str
        email: str

        @validator("username")
        def validate_username(cls, v):  # noqa: N805
            if not v.isalnum():
                raise ValueError("Username must be alphanumeric")
            return v


app = GoFastAPI(title="rt-pydantic")
log = logging.getLogger("e2e.rt")


class Address(BaseModel):
    street: str = Field(min_length=1)
    city: str = "Paris"
    zip_code: str = Field(pattern=r"^[0-9]{5}$")


class Line(BaseModel):
    sku: str = Field(min_length=3, max_length=12)
    quantity: int = Field(ge=1, le=100)
    price: float = Field(gt=0)


class Order(BaseModel):
    customer: UserInput
    ship_to: Address
    lines: list[Line] = Field(min_length=1)
    note: Optional[str] = Field(None, max_length=20)  # noqa: UP045


class PublicUser(BaseModel):
    id: int
    username: str
    email: str


@app.post("/users")
def create_user(user: UserInput):
    return {"username": user.username, "email": user.email, "type": type(user).__name__}


@app.post("/orders", status_code=201)
def create_order(order: Order):
    return {
        "customer": order.customer.username,
        "city": order.ship_to.city,
        "types": [
            type(order.ship_to).__name__,
            *(type(line).__name__ for line in order.lines),
        ],
        "total": round(sum(line.quantity * line.price for line in order.lines), 2),
        "note": order.note,
    }


@app.get("/users/{user_id}", response_model=PublicUser)
def read_user(user_id: int):
    # Leaks a secret field on purpose: the response model must drop it.
    return {
        "id": user_id,
        "username": "bob",
        "email": "bob@example.com",
        "password_hash": "scrypt$LEAKED-HASH",
    }


@app.get("/users-list", response_model=list[PublicUser])
def list_users():
    return [
        {
            "id": i,
            "username": f"user{i}",
            "email": f"u{i}@example.com",
            "password_hash": f"LEAKED-{i}",
        }
        for i in range(3)
    ]


@app.get("/pid")
def pid():
    return {"pid": os.getpid(), "ppid": os.getppid()}


@app.get("/cpu")
def cpu(n: int = Query(ge=1, le=200_000_000)):
    """Pure-Python CPU work, with wall-clock start and end."""
    start = time.time()
    total = 0
    for i in range(n):
        total += i & 7
    return {"pid": os.getpid(), "start": start, "end": time.time(), "total": total}


@app.get("/sleep")
def sleep(secs: float = Query(ge=0, le=10), tag: str = ""):
    # Tells the test which worker process runs this request, before sleeping.
    log.warning("sleep-start %s", tag, extra={"worker_pid": os.getpid(), "tag": tag})
    time.sleep(secs)
    return {"pid": os.getpid(), "slept": secs}
