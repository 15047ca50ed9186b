"""An app that asks for credentialed CORS from any origin: must not start (tests/e2e/test_edge_security.py)."""

from gofastapi import GoFastAPI

app = GoFastAPI(cors_origins=["*"], cors_credentials=True)


@app.get("/hello")
def hello():
    return {"hello": "world"}
