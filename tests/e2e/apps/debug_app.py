"""An app that turns debug on itself: GoFastAPI(debug=True), no --debug flag."""

from gofastapi import GoFastAPI

app = GoFastAPI(debug=True)


@app.get("/boom")
def boom(msg: str = "debug-app"):
    raise KeyError(msg)


@app.get("/ok")
def ok():
    return {"ok": True}
