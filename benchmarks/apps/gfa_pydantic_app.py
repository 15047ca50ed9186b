"""The Pydantic endpoint for GoFastAPI, apart from gfa_app so that gfa_app
keeps loading in sub-interpreters. Pydantic cannot, so the default runtime
(auto) serves this app with worker processes: that is what is measured."""

from pydantic import BaseModel

from gofastapi import GoFastAPI

app = GoFastAPI()


class User(BaseModel):
    name: str
    email: str
    age: int


@app.get("/hello")
def hello():
    return {"message": "hello"}


@app.post("/users")
def create_user(user: User):
    return {"name": user.name, "email": user.email, "age": user.age}
