"""The quick-start example from docs (DESIGN.md), verbatim: served as quickstart:app."""

from gofastapi import GoFastAPI, HTTPException  # noqa: F401 - verbatim from the docs

app = GoFastAPI(cors_origins=["https://example.com"], max_request_size="10MB")


@app.get("/items/{item_id}")
def read_item(item_id: int, q: str | None = None):
    return {"item_id": item_id, "q": q}
