"""The quick-start example (DESIGN.md / README) and the `make run` example app, over HTTP."""

import pytest
import requests

from .conftest import HTTP_TIMEOUT, REPO, running


@pytest.fixture(scope="module")
def quickstart():
    with running("quickstart:app", args=["--workers", "1"]) as srv:
        yield srv


@pytest.mark.parametrize(
    ("path", "want"),
    [
        ("/items/5?q=somequery", {"item_id": 5, "q": "somequery"}),
        ("/items/5", {"item_id": 5, "q": None}),
        ("/items/-3?q=", {"item_id": -3, "q": ""}),
        ("/items/7?q=a%20b%26c", {"item_id": 7, "q": "a b&c"}),
    ],
    ids=["with-q", "without-q", "empty-q", "encoded-q"],
)
def test_quickstart_read_item(quickstart, path, want):
    r = requests.get(quickstart.url(path), timeout=HTTP_TIMEOUT)
    assert r.status_code == 200, r.text
    assert r.headers["Content-Type"].startswith("application/json")
    assert r.json() == want


def test_quickstart_invalid_item_id_is_422(quickstart):
    r = requests.get(quickstart.url("/items/foo"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 422, r.text
    [err] = r.json()["detail"]
    assert err["type"] == "int_parsing"
    assert err["loc"] == ["path", "item_id"]
    assert err["input"] == "foo"
    assert isinstance(err["msg"], str) and err["msg"]


def test_quickstart_unknown_path_is_404(quickstart):
    r = requests.get(quickstart.url("/items"), timeout=HTTP_TIMEOUT)
    assert r.status_code == 404
    assert r.json() == {"detail": "Not Found"}


@pytest.fixture(scope="module")
def hello():
    with running("app:app", app_dir=REPO / "examples" / "hello", args=["--workers", "1"]) as srv:
        yield srv


@pytest.mark.parametrize(
    ("method", "path", "body", "status", "want"),
    [
        ("GET", "/hello", None, 200, {"message": "hello"}),
        ("GET", "/items/3?q=x", None, 200, {"item_id": 3, "q": "x"}),
        ("POST", "/items", {"name": "saw", "price": 12.5}, 201, {"name": "saw", "price": 12.5, "tags": []}),
        ("POST", "/items", {"name": "saw", "price": 1, "tags": ["a"]}, 201, {"name": "saw", "price": 1.0, "tags": ["a"]}),
        ("GET", "/catalogue/1", None, 200, {"name": "hammer", "price": 9.5, "tags": ["tools"]}),
        ("GET", "/catalogue/2", None, 404, {"detail": "Item not found"}),
    ],
    ids=["hello", "item", "create", "create-tags", "catalogue-hit", "catalogue-miss"],
)
def test_example_hello_app(hello, method, path, body, status, want):
    r = requests.request(method, hello.url(path), json=body, timeout=HTTP_TIMEOUT)
    assert r.status_code == status, r.text
    assert r.json() == want
