"""The JSON log line format (protocol.md §3)."""

from __future__ import annotations

import io
import json
import logging

import pytest

from gofastapi._logging import JSONHandler, install, request_id_var


@pytest.fixture
def logger_and_stream() -> tuple[logging.Logger, io.StringIO]:
    stream = io.StringIO()
    logger = logging.getLogger("gofastapi.test.json")
    logger.handlers = [JSONHandler(stream)]
    logger.propagate = False
    logger.setLevel(logging.DEBUG)
    return logger, stream


@pytest.mark.parametrize(
    ("level", "name"),
    [
        (logging.DEBUG, "DEBUG"),
        (logging.INFO, "INFO"),
        (logging.WARNING, "WARN"),
        (logging.ERROR, "ERROR"),
        (logging.CRITICAL, "ERROR"),
    ],
    ids=["debug", "info", "warning", "error", "critical"],
)
def test_levels(
    logger_and_stream: tuple[logging.Logger, io.StringIO], level: int, name: str
) -> None:
    logger, stream = logger_and_stream
    logger.log(level, "hello %s", "world")
    line = json.loads(stream.getvalue())
    assert line["level"] == name
    assert line["msg"] == "hello world"
    assert line["logger"] == "gofastapi.test.json"
    assert "request_id" not in line


def test_request_id_extra_and_exception(
    logger_and_stream: tuple[logging.Logger, io.StringIO],
) -> None:
    logger, stream = logger_and_stream
    token = request_id_var.set("abc")
    try:
        try:
            raise ValueError("x")
        except ValueError:
            logger.exception("failed", extra={"user": "u", "obj": object()})
    finally:
        request_id_var.reset(token)
    line = json.loads(stream.getvalue())
    assert line["request_id"] == "abc"
    assert line["user"] == "u"
    assert line["obj"].startswith("<object")
    assert line["exc_type"] == "ValueError"
    assert "Traceback" in line["traceback"]
    assert stream.getvalue().count("\n") == 1


def test_install_respects_existing_configuration(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    root = logging.getLogger()
    existing = logging.NullHandler()
    monkeypatch.setattr(root, "handlers", [existing])
    monkeypatch.delenv("GOFASTAPI_LOG_LEVEL", raising=False)
    install()
    assert root.handlers == [existing]


def test_install_rejects_bad_level(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(logging.getLogger(), "handlers", [logging.NullHandler()])
    monkeypatch.setenv("GOFASTAPI_LOG_LEVEL", "loud")
    with pytest.raises(ValueError, match="GOFASTAPI_LOG_LEVEL"):
        install()
