"""The example app `make run` serves: gofastapi-server --app app:app --app-dir examples/hello."""

from dataclasses import dataclass, field

from gofastapi import GoFastAPI, HTTPException

app = GoFastAPI(title="Hello GoFastAPI", version="1.0.0")


@dataclass
class Item:
    name: str
    price: float
    tags: list[str] = field(default_factory=list)


CATALOGUE = {1: Item(name="hammer", price=9.5, tags=["tools"])}


@app.get("/hello")
def hello():
    return {"message": "hello"}


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}


@app.post("/items", status_code=201)
def create_item(item: Item):
    return {"name": item.name, "price": item.price, "tags": item.tags}


@app.get("/catalogue/{item_id}")
def catalogue_item(item_id: int):
    if item_id not in CATALOGUE:
        raise HTTPException(status_code=404, detail="Item not found")
    return CATALOGUE[item_id]
