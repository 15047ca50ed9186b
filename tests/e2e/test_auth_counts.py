"""Failed authentications are counted: the stats endpoint shows them."""

from __future__ import annotations

import json
import re
import urllib.request

import requests

from .conftest import running
from .test_auth_deps import Keys  # the same keys helper


def admin_url(srv) -> str:
    rec = srv.wait_for_log(lambda r: r.get("msg") == "admin endpoint", timeout=5)
    assert rec is not None, srv.logs()[-5:]
    return rec["url"]


def test_failed_authentications_are_counted(tmp_path):
    keys = Keys(tmp_path)
    env = {"JWT_SECRET_FILE": str(keys.secret_file), "JWT_PUBLIC_KEY_FILE": str(keys.public_file)}
    with running("auth_jwt:app", args=["--runtime", "subinterpreters", "--workers", "1",
                                       "--admin-addr", "127.0.0.1:0"], env=env) as srv:
        url = admin_url(srv)
        before = json.load(urllib.request.urlopen(url, timeout=5))
        assert before["auth_failures"] == 0 and before["bad_tokens"] == 0
        assert requests.get(srv.url("/hs/me"), timeout=5).status_code == 401  # no token
        r = requests.get(srv.url("/hs/me"), headers={"Authorization": "Bearer not.a.token"}, timeout=5)
        assert r.status_code == 401
        after = json.load(urllib.request.urlopen(url, timeout=5))
        assert after["auth_failures"] == 2
        assert after["bad_tokens"] == 1
        assert not any(re.search(r"not\.a\.token", line) for line in srv.logs())
