-- wrk script for POST /users (a Pydantic model body).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name": "Ada", "email": "ada@example.com", "age": 36}'
