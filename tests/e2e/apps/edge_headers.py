"""security_headers settings (tests/e2e/test_tls.py): edge_headers:app_dict and edge_headers:app_off."""

from gofastapi import GoFastAPI

# A dict extends the server's defaults: same name replaces, a new name adds,
# Strict-Transport-Security sets the HSTS value (still sent over TLS only).
app_dict = GoFastAPI(
    title="edge-headers-dict",
    security_headers={
        "X-Frame-Options": "SAMEORIGIN",
        "X-Edge-Extra": "on",
        "Strict-Transport-Security": "max-age=600",
    },
)

app_off = GoFastAPI(title="edge-headers-off", security_headers=False)


@app_dict.get("/hello")
def hello_dict():
    return {"hello": "dict"}


@app_off.get("/hello")
def hello_off():
    return {"hello": "off"}
