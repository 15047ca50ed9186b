#!/usr/bin/env python3
"""Side-by-side benchmark: gofastapi-server vs Uvicorn + FastAPI, driven by wrk.

Standard library only. Every server binds 127.0.0.1 on a free port, runs in its
own process group and is stopped in a `finally`. Rounds are interleaved and the
summary reports medians; see benchmarks/README.md.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import re
import shlex
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from pathlib import Path

BENCH = Path(__file__).resolve().parent
REPO = BENCH.parent
APPS = BENCH / "apps"
RESULTS = BENCH / "results"
HOST = "127.0.0.1"  # the only address this harness ever targets
CPU_LOOP = 35_000  # must match CPU_LOOP in apps/*.py (checked on every run)


def _post(path: str, script: str, make_expected) -> dict:
    """A POST endpoint whose body is read from its wrk script (one source of truth)."""
    body = re.search(r"wrk\.body\s*=\s*'(.*)'", (BENCH / script).read_text()).group(1).encode()
    return {"method": "POST", "path": path, "lua": script, "body": body,
            "expected": make_expected(json.loads(body))}


ENDPOINTS = {
    "hello": {"method": "GET", "path": "/hello", "expected": {"message": "hello"}},
    "item": {"method": "GET", "path": "/items/42?q=bench",
             "expected": {"item_id": 42, "q": "bench"}},
    "post": _post("/items", "post_items.lua", lambda b: {"received": b, "size": len(b)}),
    "cpu": {"method": "GET", "path": "/cpu",
            "expected": {"result": sum(i * i for i in range(CPU_LOOP))}},
    "users": _post("/users", "post_users.lua", lambda b: b),  # Pydantic body: GoFastAPI serves it with worker processes
}
COMMON = ["hello", "item", "post", "cpu"]


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


def server_argv(kind: str, port: int, workers: int, opts) -> list[str]:
    if kind in ("gofastapi", "gofastapi-pydantic"):
        app = "gfa_app:app" if kind == "gofastapi" else "gfa_pydantic_app:app"  # the latter: process runtime
        return [opts.server, "--app", app, "--app-dir", str(APPS), "--host", HOST,
                "--port", str(port), "--workers", str(workers),  # logging as for uvicorn below:
                "--log-level", "warn", "--access-log=false", *shlex.split(opts.server_args)]
    return [opts.python, "-m", "uvicorn", "fastapi_app:app", "--app-dir", str(APPS),
            "--host", HOST, "--port", str(port), "--workers", str(workers),
            "--log-level", "warning", "--no-access-log"]


def request(port: int, ep: dict, timeout: float = 5.0) -> tuple[int, bytes]:
    req = urllib.request.Request(f"http://{HOST}:{port}{ep['path']}", method=ep["method"],
                                 data=ep.get("body"), headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(req, timeout=timeout) as resp:
            return resp.status, resp.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def wait_ready(proc: subprocess.Popen, port: int, log: Path, timeout: float) -> float:
    start = time.monotonic()
    while time.monotonic() - start < timeout:
        if proc.poll() is not None:
            raise RuntimeError(f"server exited with {proc.returncode} while starting")
        with contextlib.suppress(OSError):
            if request(port, ENDPOINTS["hello"], timeout=1.0)[0] == 200:
                return time.monotonic() - start
        time.sleep(0.05)
    raise RuntimeError(f"server not answering after {timeout:.0f}s:\n{tail(log)}")


def stop(proc: subprocess.Popen, grace: float = 15.0) -> bool:
    """SIGTERM the server, wait for its process group to empty, SIGKILL what is left.
    Returns True when no SIGKILL was needed."""
    proc.send_signal(signal.SIGTERM)
    deadline = time.monotonic() + grace
    while time.monotonic() < deadline:
        proc.poll()  # reap the leader so it stops counting as a group member
        try:
            os.killpg(proc.pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    with contextlib.suppress(ProcessLookupError):
        os.killpg(proc.pid, signal.SIGKILL)
    proc.wait(timeout=5)
    return False


def tail(path: Path, n: int = 20) -> str:
    return "\n".join(path.read_text(errors="replace").splitlines()[-n:]) if path.exists() else ""


def tree_pids(root: int) -> list[int]:
    children: dict[int, list[int]] = {}
    for entry in os.scandir("/proc"):
        if entry.name.isdigit():
            try:
                stat = Path(entry.path, "stat").read_text()
            except OSError:
                continue
            ppid = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(ppid, []).append(int(entry.name))
    out, todo = [], [root]
    while todo:
        pid = todo.pop()
        out.append(pid)
        todo.extend(children.get(pid, []))
    return out


def tree_memory_kib(root: int) -> tuple[int, int]:
    """(RSS, PSS) in KiB summed over the process tree rooted at `root`."""
    rss = pss = 0
    for pid in tree_pids(root):
        try:
            text = Path(f"/proc/{pid}/smaps_rollup").read_text()
        except OSError:
            continue
        vals = dict(re.findall(r"^(Rss|Pss):\s+(\d+)", text, re.M))
        rss, pss = rss + int(vals.get("Rss", 0)), pss + int(vals.get("Pss", 0))
    return rss, pss


@contextlib.contextmanager
def peak_memory(pid: int, interval: float = 0.1):
    """Yields a dict whose rss/pss (KiB) hold the peaks sampled until the block exits."""
    peak, halt = {"rss": 0, "pss": 0}, threading.Event()

    def sample() -> None:
        while not halt.is_set():
            rss, pss = tree_memory_kib(pid)
            peak["rss"], peak["pss"] = max(peak["rss"], rss), max(peak["pss"], pss)
            halt.wait(interval)

    thread = threading.Thread(target=sample, daemon=True)
    thread.start()
    try:
        yield peak
    finally:
        halt.set()
        thread.join(timeout=5)


UNITS = {"us": 1e-3, "ms": 1.0, "s": 1e3, "m": 60e3}


def seconds(spec: str) -> float:
    m = re.fullmatch(r"([\d.]+)(ms|s|m|h)?", spec)
    if not m:
        raise argparse.ArgumentTypeError(f"bad duration {spec!r} (use e.g. 10s)")
    return float(m.group(1)) * {"ms": 1e-3, "s": 1, None: 1, "m": 60, "h": 3600}[m.group(2)]


def duration(spec: str) -> str:
    """argparse type: validate a wrk duration but keep wrk's own syntax."""
    seconds(spec)
    return spec


def wrk(port: int, ep: dict, duration: str, opts) -> str:
    argv = ["wrk", "--latency", "-t", str(opts.threads), "-c", str(opts.connections),
            "-d", duration, "--timeout", "5s"]
    if "lua" in ep:
        argv += ["-s", str(BENCH / ep["lua"])]
    argv.append(f"http://{HOST}:{port}{ep['path']}")
    res = subprocess.run(argv, capture_output=True, text=True, timeout=seconds(duration) + 30)
    if res.returncode != 0:
        raise RuntimeError(f"wrk failed ({res.returncode}): {res.stderr.strip()}")
    return res.stdout


def parse_wrk(out: str) -> dict:
    def find(pattern: str) -> re.Match:
        if m := re.search(pattern, out, re.M):
            return m
        raise RuntimeError(f"unexpected wrk output (no {pattern!r}):\n{out}")

    def latency(pct: str) -> float:
        m = find(rf"^\s*{pct}%\s+([\d.]+)(us|ms|s|m)\s*$")
        return round(float(m.group(1)) * UNITS[m.group(2)], 3)

    non2xx = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    sock = re.search(r"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)", out)
    return {
        "rps": float(find(r"Requests/sec:\s+([\d.]+)").group(1)),
        "p50_ms": latency("50"), "p99_ms": latency("99"),
        "requests": int(find(r"(\d+) requests in").group(1)),
        "non2xx": int(non2xx.group(1)) if non2xx else 0,
        "socket_errors": dict(zip(("connect", "read", "write", "timeout"),
                                  map(int, sock.groups()))) if sock else {},
    }


def bench_server(label: str, kind: str, workers: int, endpoints: list[str], rnd: int,
                 opts, logdir: Path, rows: list[dict]) -> None:
    """Start one server, measure each endpoint (appending to `rows`), stop it."""
    port = free_port()
    argv = server_argv(kind, port, workers, opts)
    log = logdir / f"{label}-r{rnd}.log"
    print(f"[round {rnd}] {label}: {shlex.join(argv)}", file=sys.stderr, flush=True)
    with open(log, "wb") as logf:
        proc = subprocess.Popen(argv, cwd=REPO, stdin=subprocess.DEVNULL, stdout=logf,
                                stderr=subprocess.STDOUT, start_new_session=True)
        try:
            name = "start"
            ready = wait_ready(proc, port, log, opts.start_timeout)
            for name in endpoints:
                ep = ENDPOINTS[name]
                status, body = request(port, ep)
                try:
                    correct = status == 200 and json.loads(body) == ep["expected"]
                except ValueError:
                    correct = False
                wrk(port, ep, opts.warmup, opts)
                with peak_memory(proc.pid) as mem:
                    stats = parse_wrk(wrk(port, ep, opts.duration, opts))
                errors = stats["non2xx"] + sum(stats["socket_errors"].values())
                row = {"round": rnd, "system": label, "endpoint": name, "workers": workers,
                       "startup_s": round(ready, 3), **stats, "correct": correct,
                       "check_response": None if correct else f"{status} {body[:200]!r}",
                       "peak_rss_mib": round(mem["rss"] / 1024, 1),
                       "peak_pss_mib": round(mem["pss"] / 1024, 1),
                       "flagged": errors > 0 or not correct or proc.poll() is not None}
                rows.append(row)
                flag = f"  FLAGGED: {errors} errors, correct={correct}" if row["flagged"] else ""
                print(f"  {name:6} {row['rps']:>9.0f} req/s  p50 {row['p50_ms']} ms  p99 "
                      f"{row['p99_ms']} ms  rss {row['peak_rss_mib']} MiB{flag}", file=sys.stderr)
                if flag and tail(log, 5):
                    print("  server log tail:\n" + tail(log, 5), file=sys.stderr)
        except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
            if proc.poll() is None:
                raise
            raise RuntimeError(f"server died (exit status {proc.returncode}) in {name}: {e}\n"
                               f"{tail(log) or '(server log empty)'}") from e
        finally:
            if not stop(proc):
                print(f"  warning: {label} needed SIGKILL to stop", file=sys.stderr)


def summarise(raw: list[dict]) -> dict:
    groups: dict[tuple[str, str], list[dict]] = {}
    for r in raw:
        groups.setdefault((r["system"], r["endpoint"]), []).append(r)
    summary = [{"system": s, "endpoint": e, "rounds": len(rs),
                "flagged_rounds": sum(r["flagged"] for r in rs),
                **{k: round(statistics.median(r[k] for r in rs), 3)
                   for k in ("rps", "p50_ms", "p99_ms", "peak_rss_mib", "peak_pss_mib")}}
               for (s, e), rs in groups.items()]
    by = {(s["system"], s["endpoint"]): s for s in summary}

    def ratio(a, b, key):
        x, y = by.get(a, {}).get(key), by.get(b, {}).get(key)
        return round(x / y, 2) if x and y else None

    ratios = [{"endpoint": e, "rps": ratio(("gofastapi", e), ("uvicorn", e), "rps"),
               "p99": ratio(("gofastapi", e), ("uvicorn", e), "p99_ms"),
               "peak_rss": ratio(("gofastapi", e), ("uvicorn", e), "peak_rss_mib"),
               "flagged": bool(by["gofastapi", e]["flagged_rounds"] + by["uvicorn", e]["flagged_rounds"])}
              for e in ENDPOINTS if ("gofastapi", e) in by and ("uvicorn", e) in by]
    scaling = ratio(("gofastapi-w2", "cpu"), ("gofastapi-w1", "cpu"), "rps")
    return {"summary": summary, "ratios": ratios, "cpu_scaling_w2_over_w1": scaling}


def markdown(result: dict, meta: dict) -> str:
    out = [f"# Benchmark results ({meta['date']})", "",
           f"wrk -t{meta['threads']} -c{meta['connections']} -d{meta['duration']}, "
           f"{meta['rounds']} interleaved rounds, medians; {meta['nproc']} cores shared by wrk "
           f"and the server; load average at start {meta['loadavg']}.", "",
           "| system | endpoint | req/s | p50 ms | p99 ms | peak RSS MiB | peak PSS MiB | flagged |",
           "| --- | --- | ---: | ---: | ---: | ---: | ---: | ---: |"]
    for s in result["summary"]:
        out.append(f"| {s['system']} | {s['endpoint']} | {s['rps']:.0f} | {s['p50_ms']:.2f} | "
                   f"{s['p99_ms']:.2f} | {s['peak_rss_mib']:.1f} | {s['peak_pss_mib']:.1f} | "
                   f"{s['flagged_rounds']}/{s['rounds']} |")
    if result["ratios"]:
        out += ["", "gofastapi / uvicorn (req/s > 1 is better; p99 and RSS < 1 are better):", "",
                "| endpoint | req/s | p99 | peak RSS |", "| --- | ---: | ---: | ---: |"]
        out += [f"| {r['endpoint']}{' (flagged runs!)' if r['flagged'] else ''} | {r['rps']} | "
                f"{r['p99']} | {r['peak_rss']} |" for r in result["ratios"]]
    if result["cpu_scaling_w2_over_w1"] is not None:
        out += ["", f"/cpu scaling, gofastapi --workers 2 / --workers 1: "
                f"**{result['cpu_scaling_w2_over_w1']}×** req/s (2.0 is perfect on 2 cores)."]
    out += ["", "**Failed runs** (no numbers):", ""] if result["failed_runs"] else []
    out += [f"- round {r['round']} {r['system']}: {' '.join(r['error'].split())[:300]}"
            for r in result["failed_runs"]]
    return "\n".join(out) + "\n"


def command(argv: list[str]) -> str:
    try:
        return subprocess.run(argv, capture_output=True, text=True, timeout=30).stdout.strip()
    except (OSError, subprocess.TimeoutExpired):
        return ""


def plan(opts) -> list[list[tuple[str, str, int, list[str]]]]:
    """Groups of runs that are interleaved against each other, each round reversing order."""
    only = set(filter(None, opts.only.split(","))) if opts.only else set()
    systems = only & {"gofastapi", "uvicorn", "scaling"}
    eps = only & set(ENDPOINTS)
    unknown = only - systems - eps
    if unknown:
        sys.exit(f"--only: unknown {sorted(unknown)}; use gofastapi, uvicorn, scaling, "
                 + ", ".join(ENDPOINTS))
    def want(system: str) -> bool:
        return not systems or system in systems

    def pick(names: list[str]) -> list[str]:
        return [e for e in names if not eps or e in eps]

    have_gfa = os.access(opts.server, os.X_OK)
    if not have_gfa and want("gofastapi"):
        print(f"warning: {opts.server} not found; gofastapi runs skipped", file=sys.stderr)
    side = [("gofastapi", "gofastapi", 2, pick(COMMON)),
            ("gofastapi", "gofastapi-pydantic", 2, pick(["users"]))] if have_gfa and want("gofastapi") else []
    if want("uvicorn"):
        side.append(("uvicorn", "uvicorn", 2, pick(COMMON + ["users"])))
    pairs = [[r for r in side if r[3]]]
    if have_gfa and want("scaling") and pick(["cpu"]):
        pairs.append([("gofastapi-w1", "gofastapi", 1, ["cpu"]),
                      ("gofastapi-w2", "gofastapi", 2, ["cpu"])])
    return [p for p in pairs if p]


def main() -> int:
    venv_py = REPO / ".venv" / "bin" / "python"
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--server", default=str(REPO / "bin" / "gofastapi-server"))
    ap.add_argument("--server-args", default="", help="extra flags for gofastapi-server")
    ap.add_argument("--python", default=str(venv_py) if venv_py.exists() else sys.executable,
                    help="interpreter that runs uvicorn")
    ap.add_argument("--rounds", type=int, default=3)
    ap.add_argument("--duration", default="10s", type=duration)
    ap.add_argument("--warmup", default="2s", type=duration,
                    help="wrk warm-up before each measured run")
    ap.add_argument("--connections", type=int, default=64)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--start-timeout", type=float, default=60.0)
    ap.add_argument("--only", default="", help="comma list of systems (gofastapi, uvicorn, "
                    "scaling) and/or endpoints (" + ", ".join(ENDPOINTS) + ")")
    ap.add_argument("--out", default=str(RESULTS / "latest"), help="path prefix for .json/.md")
    opts = ap.parse_args()

    meta = {"date": datetime.datetime.now().isoformat(timespec="seconds"),
            "nproc": os.cpu_count(), "loadavg": [round(x, 2) for x in os.getloadavg()],
            "git": command(["git", "-C", str(REPO), "describe", "--always", "--dirty"]),
            "wrk": command(["wrk", "-v"]).split(" [")[0], "uvicorn": command(
                [opts.python, "-c", "import sys,uvicorn;print(sys.version.split()[0],uvicorn.__version__)"]),
            **{k: getattr(opts, k) for k in ("rounds", "duration", "warmup", "connections",
                                                "threads", "server", "server_args", "python")}}
    raw: list[dict] = []
    with tempfile.TemporaryDirectory(prefix="gfa-bench-") as tmp:
        for group in plan(opts):
            for rnd in range(1, opts.rounds + 1):
                for label, kind, workers, eps in (group if rnd % 2 else group[::-1]):
                    try:
                        bench_server(label, kind, workers, eps, rnd, opts, Path(tmp), raw)
                    except (RuntimeError, subprocess.TimeoutExpired, OSError) as e:
                        print(f"  {label} round {rnd} failed: {e}", file=sys.stderr)
                        raw.append({"round": rnd, "system": label, "error": str(e)})
    ok = [r for r in raw if "error" not in r]
    result = summarise(ok)
    result["failed_runs"] = [r for r in raw if "error" in r]
    md = markdown(result, meta)
    print(md)
    out = Path(opts.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.with_suffix(".md").write_text(md)
    out.with_suffix(".json").write_text(json.dumps({"meta": meta, **result, "raw": raw,
                                                    "markdown": md}, indent=2) + "\n")
    failed = len(raw) - len(ok) + sum(r["flagged"] for r in ok)
    return 1 if failed or not ok else 0


if __name__ == "__main__":
    sys.exit(main())
