"""Start-up: --version, --help, and fast, clear failures (non-zero exit, message naming the problem)."""

import socket

import pytest
import requests

from .conftest import APPS, HOST, run_cli, running

FAST = 10.0  # seconds: a start-up failure must not hang


def app_args(spec, app_dir=APPS):
    return ["--app", spec, "--app-dir", str(app_dir), "--host", HOST, "--port", "0", "--workers", "1"]


def assert_failed(res, *needles):
    assert res.returncode != 0, res.output
    assert res.elapsed < FAST, f"took {res.elapsed:.1f}s to fail"
    for needle in needles:
        assert needle in res.stderr, f"{needle!r} not in stderr:\n{res.stderr}"


def test_version():
    res = run_cli(["--version"])
    assert res.returncode == 0, res.output
    assert "CPython 3.13" in res.stdout
    assert "gofastapi-server" in res.stdout


def test_help():
    res = run_cli(["--help"])
    assert res.returncode == 0, res.output
    for flag in ("-app", "-app-dir", "-host", "-port", "-workers", "-log-level", "-debug", "-version", "GOFASTAPI_"):
        assert flag in res.output, flag


def test_missing_module():
    res = run_cli(app_args("no_such_module_e2e:app"))
    assert_failed(res, "ModuleNotFoundError", "no_such_module_e2e")


def test_module_whose_import_raises_shows_the_user_line():
    source = (APPS / "broken_import.py").read_text().splitlines()
    line = next(i for i, text in enumerate(source, 1) if "raise RuntimeError" in text)
    res = run_cli(app_args("broken_import:app"))
    assert_failed(res, "Traceback", "RuntimeError", "e2e: broken at import time", "broken_import.py", f"line {line}")


def test_missing_attribute():
    res = run_cli(app_args("quickstart:no_such_attr"))
    assert_failed(res, "no_such_attr", "quickstart")
    assert "attribute" in res.stderr.lower(), res.stderr


@pytest.mark.parametrize("attr", ["a_dict", "a_string", "a_function", "a_class", "a_router"])
def test_object_that_is_not_an_app(attr):
    res = run_cli(app_args(f"not_an_app:{attr}"))
    assert_failed(res, attr, "GoFastAPI")


def test_busy_port():
    with socket.socket() as s:
        s.bind((HOST, 0))
        s.listen(1)
        port = s.getsockname()[1]
        res = run_cli(["--app", "quickstart:app", "--app-dir", str(APPS), "--host", HOST, "--port", str(port), "--workers", "1"])
    assert_failed(res, str(port))
    assert "address already in use" in res.stderr.lower(), res.stderr


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--no-such-flag"], "no-such-flag"),
        (["--workers", "abc"], "workers"),
        (["--workers", "0"], "workers"),
        (["--port", "70000"], "port"),
        (["--log-level", "loud"], "log-level"),
        (["--shutdown-timeout", "forever"], "shutdown-timeout"),
        (["--max-header-bytes", "10"], "max-header-bytes"),
        (["--queue-size", "0"], "queue-size"),
        (["--app-dir", "/no/such/dir/e2e"], "/no/such/dir/e2e"),
        (["--app", "no_colon"], "no_colon"),
        (["stray-argument"], "stray-argument"),
    ],
    ids=["unknown-flag", "workers-not-int", "workers-zero", "port-range", "log-level", "duration",
         "max-header-bytes", "queue-size", "app-dir-missing", "app-spec", "positional"],
)
def test_invalid_flag(args, needle):
    base = {"--app": "quickstart:app", "--app-dir": str(APPS), "--port": "0", "--workers": "1"}
    base.pop(args[0], None)  # the flag under test replaces its valid value
    full = [x for kv in base.items() for x in kv] + args
    res = run_cli(full)
    assert_failed(res, needle)


def test_missing_app_flag():
    res = run_cli(["--port", "0"])
    assert_failed(res, "--app")


@pytest.mark.parametrize(
    ("name", "value", "needle"),
    [
        ("GOFASTAPI_WORKERS", "abc", "GOFASTAPI_WORKERS"),
        ("GOFASTAPI_PORT", "http", "GOFASTAPI_PORT"),
        ("GOFASTAPI_DEBUG", "maybe", "GOFASTAPI_DEBUG"),
        ("GOFASTAPI_SHUTDOWN_TIMEOUT", "soon", "GOFASTAPI_SHUTDOWN_TIMEOUT"),
        ("GOFASTAPI_WORKERS", "0", "workers"),
    ],
    ids=["workers-not-int", "port-not-int", "bool", "duration", "workers-zero"],
)
def test_invalid_environment_value(name, value, needle):
    res = run_cli(["--app", "quickstart:app", "--app-dir", str(APPS), "--port", "0"], env={name: value})
    assert_failed(res, needle)


@pytest.mark.parametrize(
    ("settings", "needle"),
    [
        ('max_request_size="ten"', "max_request_size"),
        ("max_request_size=-5", "max_request_size"),
        ("cors_origins=42", "cors_origins"),
        ('cors_origins=["not an origin"]', "cors_origins"),
        ('cors_methods=["GET", "BAD METHOD"]', "cors_methods"),
        ('security_headers="yes"', "security_headers"),
        ('rate_limit="lots"', "rate_limit"),
    ],
    ids=["size-word", "size-negative", "origins-not-list", "origin-malformed", "method-not-token", "security-headers", "rate-limit"],
)
def test_invalid_app_setting(tmp_path, settings, needle):
    (tmp_path / "bad_settings.py").write_text(
        "from gofastapi import GoFastAPI\n\n"
        f"app = GoFastAPI({settings})\n\n\n"
        "@app.get('/')\ndef root():\n    return {}\n"
    )
    res = run_cli(app_args("bad_settings:app", tmp_path))
    assert_failed(res, needle)


def test_valid_settings_start(tmp_path):
    # Control for test_invalid_app_setting: the same module with good values serves.
    (tmp_path / "good_settings.py").write_text(
        "from gofastapi import GoFastAPI\n\n"
        "app = GoFastAPI(title='t', version='1', max_request_size=2048, cors_origins=['https://example.com'],\n"
        "                cors_methods=['GET', 'POST'], cors_headers=['X-Token'], cors_credentials=True,\n"
        "                security_headers={'X-Frame-Options': 'DENY'}, rate_limit='100/minute')\n\n\n"
        "@app.get('/')\ndef root():\n    return {'ok': True}\n"
    )
    with running("good_settings:app", app_dir=tmp_path, args=["--workers", "1"]) as srv:
        assert requests.get(srv.url("/"), timeout=10).json() == {"ok": True}
