"""Attributes that are not GoFastAPI apps: start-up must refuse each one."""

from gofastapi import APIRouter, GoFastAPI

a_dict = {"routes": []}
a_string = "app"


def a_function():
    return {"hello": "world"}


a_class = GoFastAPI  # the class itself, not an instance
a_router = APIRouter(prefix="/x")
