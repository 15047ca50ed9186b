-- wrk script for POST /items: a fixed JSON object, so both systems parse the same bytes.
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name": "widget", "price": 9.5, "tags": ["a", "b", "c"], "stock": 42}'
