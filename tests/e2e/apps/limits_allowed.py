"""An app that lists subprocess and ctypes in allowed_imports (served as limits_allowed:app).

With an allow-list the app's own code may import only those modules (plus its
own modules and gofastapi), so /import/json must be refused while subprocess
and ctypes work, the audit hook included.
"""

import os

from gofastapi import GoFastAPI

app = GoFastAPI(title="limits-allowed", allowed_imports=["subprocess", "ctypes"])


@app.get("/import/subprocess")
def import_subprocess():
    import subprocess

    return {"rc": subprocess.run(["true"], check=False).returncode}


@app.get("/import/ctypes")
def import_ctypes():
    import ctypes

    return {"getpid": ctypes.CDLL(None).getpid(), "pid": os.getpid()}


@app.get("/import/json")
def import_json():
    import json

    return {"json": json.dumps([1])}
