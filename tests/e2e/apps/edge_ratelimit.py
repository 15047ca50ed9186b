"""Rate limits (tests/e2e/test_edge_security.py): served as edge_ratelimit:app.

The app allows 3 requests a minute per client; /rl/route overrides it with
5 a minute and /rl/off is exempt.
"""

from gofastapi import GoFastAPI

app = GoFastAPI(title="edge-ratelimit", rate_limit="3/minute")


@app.get("/rl/app")
def rl_app():
    return {"route": "app"}


@app.get("/rl/route", rate_limit="5/minute")
def rl_route():
    return {"route": "route"}


@app.get("/rl/off", rate_limit="off")
def rl_off():
    return {"route": "off"}
