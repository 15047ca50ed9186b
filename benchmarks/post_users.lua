-- wrk script for POST /users (Pydantic model; Uvicorn side only).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name": "Ada", "email": "ada@example.com", "age": 36}'
