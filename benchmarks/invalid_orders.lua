-- wrk script: POST /orders with a body missing two required fields (422).
wrk.method = "POST"
wrk.headers["Content-Type"] = "application/json"
wrk.body = '{"name": "widget"}'
