"""An app module whose import raises: start-up must fail and show this file's line."""

from gofastapi import GoFastAPI

app = GoFastAPI()


def _explode():
    raise RuntimeError("e2e: broken at import time")


_explode()
