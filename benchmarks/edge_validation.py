"""Invalid bodies vs /hello on gofastapi-server: are invalid requests answered
at least as fast as the cheapest valid one (they never enter Python)?

Interleaves wrk runs of GET /hello and POST /orders with an invalid body on
one server (benchmarks/apps/gfa_app.py, 2 workers), several rounds, and
prints the medians and the ratio. Usage:
    .venv/bin/python benchmarks/edge_validation.py [--server bin/gofastapi-server] [--rounds 3] [--duration 8s]
"""

from __future__ import annotations

import argparse
import re
import socket
import statistics
import subprocess
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
HOST = "127.0.0.1"


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def rps(out: str) -> float:
    m = re.search(r"Requests/sec:\s+([\d.]+)", out)
    if m is None:
        raise SystemExit(f"no Requests/sec in wrk output:\n{out}")
    return float(m.group(1))


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", default=str(HERE.parent / "bin" / "gofastapi-server"))
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", default="8s")
    opts = ap.parse_args()
    port = free_port()
    proc = subprocess.Popen([opts.server, "--app", "gfa_app:app", "--app-dir", str(HERE / "apps"), "--host", HOST,
                             "--port", str(port), "--workers", "2", "--log-level", "warn", "--access-log=false"])
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"http://{HOST}:{port}/hello", timeout=1).read()
                break
            except OSError:
                time.sleep(0.1)
        runs = {"hello": [], "invalid": []}
        order = ["hello", "invalid"]
        for rnd in range(opts.rounds):
            for name in order if rnd % 2 == 0 else order[::-1]:
                args = ["wrk", "-t2", "-c64", f"-d{opts.duration}"]
                if name == "invalid":
                    args += ["-s", str(HERE / "invalid_orders.lua"), f"http://{HOST}:{port}/orders"]
                else:
                    args += [f"http://{HOST}:{port}/hello"]
                out = subprocess.run(args, capture_output=True, text=True, timeout=300).stdout
                runs[name].append(rps(out))
                print(f"round {rnd + 1} {name}: {runs[name][-1]:.0f} req/s", flush=True)
        hello, invalid = statistics.median(runs["hello"]), statistics.median(runs["invalid"])
        print(f"\nmedians: GET /hello {hello:.0f} req/s, invalid POST /orders (422) {invalid:.0f} req/s, "
              f"ratio invalid/hello {invalid / hello:.2f}")
    finally:
        proc.terminate()
        proc.wait(timeout=30)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
