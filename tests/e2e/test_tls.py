"""TLS and HTTP/2 at the edge, against the real binary.

Certificates are made at test time into pytest's tmp dirs (never committed):
a self-signed RSA-2048 and a self-signed ECDSA P-256 server certificate, and a
client CA with client certificates for --tls-client-ca.

Covers: TLS 1.0/1.1 and weak TLS 1.2 suites refused (proved from the server's
own tls_handshake_failed log line for that client port, so a client that
never offered the old version cannot pass the test), modern handshakes
accepted, --tls-min-version 1.3, ALPN h2 with a real HTTP/2 request, sslyze's
Mozilla "intermediate" check, start-up errors for bad key pairs, SIGHUP
certificate reload without dropping connections, --redirect-http,
--tls-client-ca, HSTS and the security headers, and the per-connection bound
on HTTP/2 requests in flight (--max-conn-requests).
"""

from __future__ import annotations

import contextlib
import datetime
import ipaddress
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import threading
import time
import warnings
from pathlib import Path
from typing import Any

import h2.config
import h2.connection
import h2.events
import hpack
import pytest
import requests
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID
from hyperframe.frame import DataFrame, Frame, GoAwayFrame, HeadersFrame, RstStreamFrame, SettingsFrame

from .conftest import APPS, HOST, HTTP_TIMEOUT, Server, free_port, run_cli, running, split_response

V = ssl.TLSVersion

DEFAULT_HEADERS = {
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "default-src 'self'; frame-ancestors 'none'",
    "Referrer-Policy": "strict-origin-when-cross-origin",
    "Cross-Origin-Opener-Policy": "same-origin",
    "Cross-Origin-Resource-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=(), payment=(), usb=()",
}
DEFAULT_HSTS = "max-age=31536000; includeSubDomains"


# --------------------------------------------------------------------------- certificates


class Cert:
    """A certificate and its key, written as PEM files."""

    def __init__(self, cert: x509.Certificate, key: Any, cert_path: Path, key_path: Path) -> None:
        self.cert, self.key, self.cert_path, self.key_path = cert, key, cert_path, key_path

    @property
    def serial(self) -> int:
        return self.cert.serial_number


def make_cert(directory: Path, name: str, kind: str = "ec", *, issuer: Cert | None = None,
              role: str = "server") -> Cert:
    """A certificate for 127.0.0.1/localhost (role server), a client (role client) or a CA (role ca).

    Self-signed unless issuer is given. kind is "ec" (P-256) or "rsa" (2048 bits).
    """
    key = ec.generate_private_key(ec.SECP256R1()) if kind == "ec" else rsa.generate_private_key(65537, 2048)
    now = datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, f"gofastapi-e2e-{name}")])
    builder = (
        x509.CertificateBuilder()
        .subject_name(subject)
        .issuer_name(issuer.cert.subject if issuer else subject)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + datetime.timedelta(days=2))
        .add_extension(x509.BasicConstraints(ca=role == "ca", path_length=None), critical=True)
    )
    if role == "server":
        builder = builder.add_extension(
            x509.SubjectAlternativeName([x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address(HOST))]),
            critical=False,
        ).add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), critical=False)
    elif role == "client":
        builder = builder.add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.CLIENT_AUTH]), critical=False)
    else:
        builder = builder.add_extension(
            x509.KeyUsage(digital_signature=True, content_commitment=False, key_encipherment=False,
                          data_encipherment=False, key_agreement=False, key_cert_sign=True, crl_sign=True,
                          encipher_only=False, decipher_only=False),
            critical=True,
        )
    cert = builder.sign(issuer.key if issuer else key, hashes.SHA256())
    cert_path, key_path = directory / f"{name}.crt", directory / f"{name}.key"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                           serialization.NoEncryption()))
    key_path.chmod(0o600)
    return Cert(cert, key, cert_path, key_path)


@pytest.fixture(scope="module")
def pki(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Cert]:
    d = tmp_path_factory.mktemp("pki")
    out = {
        "rsa": make_cert(d, "server-rsa", "rsa"),
        "ec": make_cert(d, "server-ec", "ec"),
        "client_ca": make_cert(d, "client-ca", "ec", role="ca"),
        "other_ca": make_cert(d, "other-ca", "ec", role="ca"),
    }
    out["client"] = make_cert(d, "client", "ec", issuer=out["client_ca"], role="client")
    out["stranger"] = make_cert(d, "stranger", "ec", issuer=out["other_ca"], role="client")
    return out


def tls_args(cert: Cert, *more: str) -> list[str]:
    return ["--tls-cert", str(cert.cert_path), "--tls-key", str(cert.key_path), *more]


# --------------------------------------------------------------------------- servers


@pytest.fixture(scope="module")
def tls_server(pki):
    """edge_app over TLS with the RSA certificate (so ECDHE-RSA and RSA-key-exchange suites can be offered).

    --read-header-timeout also bounds the TLS handshake.
    """
    with running("edge_app:app", args=["--workers", "2", "--read-header-timeout", "1s", *tls_args(pki["rsa"])]) as srv:
        assert srv.base_url.startswith("https://"), srv.serving
        yield srv


@pytest.fixture(scope="module")
def plain_server():
    with running("edge_app:app", args=["--workers", "1"]) as srv:
        yield srv


@pytest.fixture(scope="module")
def h2_server(pki):
    """ECDSA certificate, 4 interpreters, at most 2 requests in flight per HTTP/2 connection."""
    args = ["--workers", "4", "--max-conn-requests", "2", *tls_args(pki["ec"])]
    with running("edge_app:app", args=args) as srv:
        yield srv


# --------------------------------------------------------------------------- client helpers


def client_ctx(*, min_version: ssl.TLSVersion | None = None, max_version: ssl.TLSVersion | None = None,
               ciphers: str | None = None, alpn: list[str] | None = None,
               client_cert: Cert | None = None) -> ssl.SSLContext:
    """A client context that does not verify the server (tests look at the handshake itself)."""
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
    ctx.check_hostname = False
    ctx.verify_mode = ssl.CERT_NONE
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)  # TLSv1 and TLSv1_1 are deprecated names
        if min_version is not None:
            ctx.minimum_version = min_version
        if max_version is not None:
            ctx.maximum_version = max_version
    if ciphers is not None:
        ctx.set_ciphers(ciphers)
    if alpn is not None:
        ctx.set_alpn_protocols(alpn)
    if client_cert is not None:
        ctx.load_cert_chain(str(client_cert.cert_path), str(client_cert.key_path))
    return ctx


def tls_connect(port: int, ctx: ssl.SSLContext, timeout: float = 5.0) -> tuple[ssl.SSLSocket | None, int, BaseException | None]:
    """(TLS socket or None, local port, handshake error or None)."""
    raw = socket.create_connection((HOST, port), timeout=timeout)
    local_port = raw.getsockname()[1]
    try:
        return ctx.wrap_socket(raw, server_hostname="localhost"), local_port, None
    except (ssl.SSLError, OSError) as exc:
        raw.close()
        return None, local_port, exc


def read_response(sock: socket.socket, deadline: float) -> tuple[int, dict[str, list[str]], bytes]:
    """One HTTP/1.1 response with a Content-Length body from sock (keeps the connection usable)."""
    buf = b""
    while b"\r\n\r\n" not in buf:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError(f"closed before the end of the headers: {buf!r}")
        buf += chunk
    status, headers, body = split_response(buf)
    length = int(headers.get("content-length", ["0"])[0])
    while len(body) < length:
        sock.settimeout(max(0.05, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        if not chunk:
            raise ConnectionError("closed in the body")
        body += chunk
    return status, headers, body[:length]


def http11(sock: socket.socket, path: str = "/hello", timeout: float = 5.0,
           close: bool = False) -> tuple[int, dict[str, list[str]], bytes]:
    req = f"GET {path} HTTP/1.1\r\nHost: {HOST}\r\n" + ("Connection: close\r\n" if close else "") + "\r\n"
    sock.sendall(req.encode())
    return read_response(sock, time.monotonic() + timeout)


def try_get(port: int, ctx: ssl.SSLContext) -> tuple[int | None, int, BaseException | None]:
    """GET /hello over a new TLS connection: (status or None, local port, error or None).

    With TLS 1.3 a refused client certificate surfaces after the client's
    handshake, on the first read, so the request is part of the attempt.
    """
    sock, local_port, err = tls_connect(port, ctx)
    if sock is None:
        return None, local_port, err
    try:
        with sock:
            return http11(sock, close=True)[0], local_port, None
    except (ssl.SSLError, OSError) as exc:
        return None, local_port, exc


def handshake_failure_logged(srv: Server, local_port: int, timeout: float = 3.0) -> dict[str, Any]:
    rec = srv.wait_for_log(
        lambda r: r.get("event") == "tls_handshake_failed" and r.get("client") == f"{HOST}:{local_port}",
        timeout=timeout,
    )
    assert rec is not None, f"no tls_handshake_failed line for client port {local_port}"
    assert rec.get("logger") == "gofastapi.security", rec
    return rec


def peer_serial(sock: ssl.SSLSocket) -> int:
    der = sock.getpeercert(binary_form=True)
    assert der, "no peer certificate"
    return x509.load_der_x509_certificate(der).serial_number


class H2Client:
    """A minimal HTTP/2 client over one TLS connection (h2), for many concurrent streams."""

    def __init__(self, port: int, timeout: float = 10.0) -> None:
        self.port = port
        sock, _, err = tls_connect(port, client_ctx(alpn=["h2", "http/1.1"]), timeout=timeout)
        assert sock is not None, f"TLS handshake failed: {err!r}"
        self.sock = sock
        assert sock.selected_alpn_protocol() == "h2", sock.selected_alpn_protocol()
        self.conn = h2.connection.H2Connection(h2.config.H2Configuration(client_side=True, header_encoding="utf-8"))
        self.conn.initiate_connection()
        self.sock.sendall(self.conn.data_to_send())
        self.responses: dict[int, dict[str, Any]] = {}

    def request(self, method: str, path: str, headers: list[tuple[str, str]] | None = None,
                body: bytes | None = None) -> int:
        sid = self.conn.get_next_available_stream_id()
        hdrs = [(":method", method), (":path", path), (":scheme", "https"), (":authority", f"{HOST}:{self.port}")]
        self.conn.send_headers(sid, hdrs + list(headers or []), end_stream=body is None)
        if body is not None:
            self.conn.send_data(sid, body, end_stream=True)
        self.sock.sendall(self.conn.data_to_send())
        self.responses[sid] = {"headers": {}, "body": b"", "done": False}
        return sid

    def wait(self, sids: list[int], timeout: float = 15.0) -> dict[int, dict[str, Any]]:
        deadline = time.monotonic() + timeout
        while not all(self.responses[s]["done"] for s in sids):
            left = deadline - time.monotonic()
            assert left > 0, f"HTTP/2 streams unfinished after {timeout}s: {self.responses}"
            self.sock.settimeout(left)
            data = self.sock.recv(65536)
            assert data, "the server closed the HTTP/2 connection"
            for ev in self.conn.receive_data(data):
                if isinstance(ev, h2.events.ResponseReceived):
                    self.responses[ev.stream_id]["headers"] = dict(ev.headers)
                elif isinstance(ev, h2.events.DataReceived):
                    self.responses[ev.stream_id]["body"] += ev.data
                    self.conn.acknowledge_received_data(ev.flow_controlled_length, ev.stream_id)
                elif isinstance(ev, h2.events.StreamEnded):
                    self.responses[ev.stream_id]["done"] = True
                elif isinstance(ev, h2.events.StreamReset):
                    self.responses[ev.stream_id].update(done=True, reset=ev.error_code)
            out = self.conn.data_to_send()
            if out:
                self.sock.sendall(out)
        return {s: self.responses[s] for s in sids}

    def close(self) -> None:
        with contextlib.suppress(Exception):
            self.conn.close_connection()
            self.sock.sendall(self.conn.data_to_send())
        self.sock.close()


def h2_single_request(port: int, method: str, path: str, headers: list[tuple[str, str]],
                      body: bytes | None = None, timeout: float = 5.0) -> dict[str, Any]:
    """One HTTP/2 request on a fresh connection, framed by hand (hyperframe + hpack).

    The h2 state machine refuses every frame after a GOAWAY, but a graceful
    GOAWAY (which Go sends when a response carries Connection: close) may be
    followed by the response itself; this reader keeps reading until the
    stream ends or the server closes.
    """
    sock, _, err = tls_connect(port, client_ctx(alpn=["h2"]), timeout=timeout)
    assert sock is not None and sock.selected_alpn_protocol() == "h2", repr(err)
    enc, dec = hpack.Encoder(), hpack.Decoder()
    hdrs = [(":method", method), (":path", path), (":scheme", "https"), (":authority", f"{HOST}:{port}"), *headers]
    out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n" + SettingsFrame(0).serialize()
    hf = HeadersFrame(1, enc.encode(hdrs))
    hf.flags.add("END_HEADERS")
    if body is None:
        hf.flags.add("END_STREAM")
    out += hf.serialize()
    if body is not None:
        assert len(body) <= 16384, "keep test bodies within one frame and the initial window"
        df = DataFrame(1, body)
        df.flags.add("END_STREAM")
        out += df.serialize()
    result: dict[str, Any] = {"headers": {}, "body": b"", "done": False, "goaway": None, "reset": None}
    buf = b""
    deadline = time.monotonic() + timeout
    with sock:
        sock.sendall(out)
        while not result["done"]:
            while len(buf) < 9 or len(buf) < 9 + int.from_bytes(buf[:3], "big"):
                sock.settimeout(max(0.05, deadline - time.monotonic()))
                assert time.monotonic() < deadline, f"HTTP/2 response unfinished: {result}"
                chunk = sock.recv(65536)
                if not chunk:
                    return result
                buf += chunk
            frame, length = Frame.parse_frame_header(memoryview(buf[:9]))
            frame.parse_body(memoryview(buf[9:9 + length]))
            buf = buf[9 + length:]
            if isinstance(frame, SettingsFrame) and "ACK" not in frame.flags:
                ack = SettingsFrame(0)
                ack.flags.add("ACK")
                sock.sendall(ack.serialize())
            elif isinstance(frame, GoAwayFrame):
                result["goaway"] = (frame.last_stream_id, frame.error_code)
            elif isinstance(frame, RstStreamFrame) and frame.stream_id == 1:
                result.update(reset=frame.error_code, done=True)
            elif isinstance(frame, HeadersFrame) and frame.stream_id == 1:
                result["headers"] = {k: v for k, v in dec.decode(frame.data, raw=False)}
                result["done"] = "END_STREAM" in frame.flags
            elif isinstance(frame, DataFrame) and frame.stream_id == 1:
                result["body"] += frame.data
                result["done"] = "END_STREAM" in frame.flags
    return result


# --------------------------------------------------------------------------- protocol versions and suites


@pytest.mark.parametrize("version", [V.TLSv1, V.TLSv1_1], ids=["tls1.0", "tls1.1"])
def test_legacy_tls_versions_refused(tls_server, version):
    # @SECLEVEL=0 lets this OpenSSL offer the old versions and their suites at all.
    ctx = client_ctx(min_version=version, max_version=version, ciphers="ALL:@SECLEVEL=0")
    status, local_port, err = try_get(tls_server.port, ctx)
    assert status is None, f"{version.name} handshake accepted (HTTP {status})"
    assert isinstance(err, ssl.SSLError), repr(err)
    rec = handshake_failure_logged(tls_server, local_port)
    assert "unsupported versions" in rec.get("err", ""), rec  # refused for its version, not by accident


@pytest.mark.parametrize(
    "cipher",
    ["ECDHE-RSA-AES128-SHA", "ECDHE-RSA-AES128-SHA256", "AES128-GCM-SHA256", "AES256-SHA"],
    ids=["cbc-sha1", "cbc-sha256", "rsa-kx-gcm", "rsa-kx-cbc"],
)
def test_tls12_weak_suites_refused(tls_server, cipher):
    # CBC suites and RSA key exchange (no forward secrecy) are outside Mozilla "intermediate".
    ctx = client_ctx(min_version=V.TLSv1_2, max_version=V.TLSv1_2, ciphers=f"{cipher}:@SECLEVEL=0")
    status, local_port, err = try_get(tls_server.port, ctx)
    assert status is None, f"TLS 1.2 with {cipher} accepted (HTTP {status})"
    assert isinstance(err, ssl.SSLError), repr(err)
    rec = handshake_failure_logged(tls_server, local_port)
    assert "no cipher suite" in rec.get("err", ""), rec


@pytest.mark.parametrize(
    ("version", "cipher", "want_cipher"),
    [
        (V.TLSv1_2, "ECDHE-RSA-AES128-GCM-SHA256", "ECDHE-RSA-AES128-GCM-SHA256"),
        (V.TLSv1_2, "ECDHE-RSA-CHACHA20-POLY1305", "ECDHE-RSA-CHACHA20-POLY1305"),
        (V.TLSv1_3, None, None),
    ],
    ids=["tls1.2-ecdhe-gcm", "tls1.2-ecdhe-chacha", "tls1.3"],
)
def test_modern_handshakes_accepted(tls_server, version, cipher, want_cipher):
    sock, _, err = tls_connect(tls_server.port, client_ctx(min_version=version, max_version=version, ciphers=cipher))
    assert sock is not None, f"{version.name} {cipher} refused: {err!r}"
    with sock:
        assert sock.version() == {V.TLSv1_2: "TLSv1.2", V.TLSv1_3: "TLSv1.3"}[version]
        if want_cipher:
            assert sock.cipher()[0] == want_cipher
        status, headers, body = http11(sock, close=True)
    assert status == 200, body
    assert json.loads(body)["hello"] == "world"


def test_min_version_13_refuses_12(pki):
    with running("edge_app:app", args=["--workers", "1", *tls_args(pki["ec"], "--tls-min-version", "1.3")]) as srv:
        ctx12 = client_ctx(min_version=V.TLSv1_2, max_version=V.TLSv1_2)
        status, local_port, err = try_get(srv.port, ctx12)
        assert status is None, f"TLS 1.2 accepted with --tls-min-version 1.3 (HTTP {status})"
        assert "unsupported versions" in handshake_failure_logged(srv, local_port).get("err", "")
        status13, _, err13 = try_get(srv.port, client_ctx(min_version=V.TLSv1_3))
        assert status13 == 200, repr(err13)


# --------------------------------------------------------------------------- ALPN and HTTP/2


def test_alpn_negotiates_h2_and_http2_request_works(tls_server):
    client = H2Client(tls_server.port)
    try:
        sid = client.request("GET", "/hello?tag=h2")
        post = client.request("POST", "/json", [("content-type", "application/json")], b'{"a": [1, 2]}')
        res = client.wait([sid, post])
    finally:
        client.close()
    get = res[sid]
    assert get["headers"].get(":status") == "200", get
    assert json.loads(get["body"]) == {"hello": "world", "tag": "h2"}
    assert get["headers"].get("strict-transport-security") == DEFAULT_HSTS, get["headers"]
    assert get["headers"].get("x-content-type-options") == "nosniff", get["headers"]
    assert "server" not in get["headers"], get["headers"]
    assert res[post]["headers"].get(":status") == "200", res[post]
    assert json.loads(res[post]["body"])["received"] == {"a": [1, 2]}
    # Over HTTP/2 the edge's limits still apply: an unknown path is Go's 404.
    client = H2Client(tls_server.port)
    try:
        nf = client.wait([client.request("GET", "/no/such/path")])
    finally:
        client.close()
    assert next(iter(nf.values()))["headers"].get(":status") == "404"


def test_alpn_http11_fallback(tls_server):
    sock, _, err = tls_connect(tls_server.port, client_ctx(alpn=["http/1.1"]))
    assert sock is not None, repr(err)
    with sock:
        assert sock.selected_alpn_protocol() == "http/1.1"
        assert http11(sock, close=True)[0] == 200


@pytest.mark.parametrize("declared", [True, False], ids=["content-length", "no-content-length"])
def test_http2_body_over_cap_is_413(tls_server, declared):
    # edge_app's max_request_size is 1KB: the cap holds over HTTP/2 too.
    body = b'{"s": "' + b"x" * 3000 + b'"}'
    headers = [("content-type", "application/json")]
    if declared:
        headers.append(("content-length", str(len(body))))
    res = h2_single_request(tls_server.port, "POST", "/json", headers, body)
    assert res["headers"].get(":status") == "413", res
    assert json.loads(res["body"])["detail"].startswith("Request Entity Too Large"), res
    # Control: a body under the cap is served.
    ok = h2_single_request(tls_server.port, "POST", "/json", [("content-type", "application/json")], b'{"a": 1}')
    assert ok["headers"].get(":status") == "200", ok


def test_tls_handshake_stall_cut_off(tls_server):
    """A client that connects and never says hello is dropped after --read-header-timeout (1s)."""
    with socket.create_connection((HOST, tls_server.port), timeout=5) as s:
        start = time.monotonic()
        with contextlib.suppress(ConnectionResetError):
            s.settimeout(5)
            while s.recv(4096):
                pass
        elapsed = time.monotonic() - start
    assert 0.7 < elapsed < 3.0, f"silent TLS client dropped after {elapsed:.2f}s with --read-header-timeout 1s"
    with socket.create_connection((HOST, tls_server.port), timeout=5) as raw:
        tls = client_ctx(alpn=["http/1.1"]).wrap_socket(raw, server_hostname="localhost")
        start = time.monotonic()
        tls.sendall(b"GET /hello HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")  # never ends its headers
        with contextlib.suppress(ConnectionResetError, ssl.SSLError):
            tls.settimeout(5)
            while tls.recv(4096):
                pass
        elapsed = time.monotonic() - start
    assert 0.7 < elapsed < 3.0, f"incomplete headers over TLS dropped after {elapsed:.2f}s"


def test_ambiguous_framing_refused_over_tls(tls_server, pki):
    """The HTTP/1 framing guard also watches connections whose TLS the server terminates."""
    sock, _, err = tls_connect(tls_server.port, client_ctx(alpn=["http/1.1"]))
    assert sock is not None, repr(err)
    tag = f"tls-smuggle-{time.monotonic_ns()}"
    with sock:
        sock.sendall(b"POST /json?tag=" + tag.encode() + b" HTTP/1.1\r\nHost: 127.0.0.1\r\n"
                     b"Content-Type: application/json\r\nContent-Length: 7\r\nTransfer-Encoding: chunked\r\n\r\n"
                     b'7\r\n{"a":1}\r\n0\r\n\r\nGET /hello?tag=' + tag.encode() + b"-next HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data = b""
        sock.settimeout(3)
        with contextlib.suppress(ConnectionResetError, ssl.SSLError, TimeoutError):
            while chunk := sock.recv(65536):
                data += chunk
    assert data.startswith(b"HTTP/1.1 400"), data[:300]
    assert data.count(b"HTTP/1.1 ") == 1, f"the pipelined request was answered: {data!r}"
    r = requests.get(tls_server.url("/hello"), params={"tag": tag + "-ctrl"}, timeout=HTTP_TIMEOUT, verify=str(pki["rsa"].cert_path))
    assert r.status_code == 200
    assert tls_server.wait_for_text(f"edge-hit /hello {tag}-ctrl")
    assert not tls_server.wait_for_text(f"edge-hit /json {tag}", timeout=0.1)
    assert not tls_server.wait_for_text(f"edge-hit /hello {tag}-next", timeout=0.1)


def test_http2_requests_in_flight_bounded_per_connection(h2_server):
    """--max-conn-requests 2 with 4 interpreters: one connection never has more than 2 handlers running."""
    nap = 0.6

    def run(n_conns: int, streams: int) -> list[dict[str, Any]]:
        results: list[dict[str, Any]] = []
        errors: list[BaseException] = []
        lock = threading.Lock()

        def one() -> None:
            try:
                client = H2Client(h2_server.port)
                try:
                    sids = [client.request("GET", f"/nap?secs={nap}") for _ in range(streams)]
                    res = client.wait(sids, timeout=20)
                finally:
                    client.close()
                with lock:
                    results.extend(res.values())
            except BaseException as exc:  # noqa: BLE001 - reported below
                with lock:
                    errors.append(exc)

        threads = [threading.Thread(target=one, daemon=True) for _ in range(n_conns)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(30)
        assert not errors, errors
        assert len(results) == n_conns * streams
        for r in results:
            assert r["headers"].get(":status") == "200", r
        return [json.loads(r["body"]) for r in results]

    def max_overlap(spans: list[dict[str, Any]]) -> int:
        events = sorted([(s["start"], 1) for s in spans] + [(s["end"], -1) for s in spans], key=lambda e: (e[0], e[1]))
        cur = best = 0
        for _, d in events:
            cur += d
            best = max(best, cur)
        return best

    one_conn = max_overlap(run(1, 6))
    assert one_conn <= 2, f"{one_conn} handlers of one HTTP/2 connection ran at once with --max-conn-requests 2"
    assert one_conn == 2, "requests of one connection never ran in parallel: the bound is not what limited them"
    # Control: the bound is per connection, and the pool can run more than 2 at once.
    two_conns = max_overlap(run(2, 3))
    assert two_conns >= 3, f"two connections only reached {two_conns} concurrent handlers: the control proves nothing"


# --------------------------------------------------------------------------- sslyze (Mozilla intermediate)


@pytest.mark.timeout(120)
@pytest.mark.parametrize("which", ["tls_server", "h2_server"], ids=["rsa", "ecdsa"])
def test_sslyze_mozilla_intermediate(which, request, tmp_path):
    srv = request.getfixturevalue(which)
    out_json = tmp_path / "sslyze.json"
    p = subprocess.run(
        [sys.executable, "-m", "sslyze", "--mozilla_config=intermediate", "--json_out", str(out_json),
         f"{HOST}:{srv.port}"],
        capture_output=True, text=True, timeout=90,
    )
    text = p.stdout + p.stderr
    # The scan itself must have run completely, or the compliance verdict means nothing.
    report = json.loads(out_json.read_text())
    [result] = report["server_scan_results"]
    assert result["connectivity_status"] == "COMPLETED", text
    assert result["scan_status"] == "COMPLETED", text
    scans = result["scan_result"]
    for name in ("ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites",
                 "tls_1_1_cipher_suites", "tls_1_2_cipher_suites", "tls_1_3_cipher_suites", "elliptic_curves"):
        assert scans[name]["status"] == "COMPLETED", (name, scans[name].get("error_trace"))
    # Compliance section: "HOST:PORT: FAILED - Not compliant." then "* issue_key: message" lines.
    section = text.split("COMPLIANCE AGAINST TLS CONFIGURATION", 1)
    assert len(section) == 2, text
    verdict = re.search(rf"{re.escape(HOST)}:{srv.port}: (OK - Compliant|FAILED - Not compliant)", section[1])
    assert verdict, section[1]
    issues = dict(re.findall(r"^\s+\* (\w+): (.*)$", section[1], re.MULTILINE))
    not_certificate = {k: v for k, v in issues.items() if k != "certificate_path_validation"}
    assert not not_certificate, f"sslyze Mozilla intermediate findings beyond the self-signed certificate: {not_certificate}"
    # And the raw facts, in case sslyze's own checker changes.
    for old in ("ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites", "tls_1_1_cipher_suites"):
        assert scans[old]["result"]["accepted_cipher_suites"] == [], old
    suites12 = [c["cipher_suite"]["name"] for c in scans["tls_1_2_cipher_suites"]["result"]["accepted_cipher_suites"]]
    assert suites12, "no TLS 1.2 suite accepted"
    for name in suites12:
        assert name.startswith("TLS_ECDHE_") and ("_GCM_" in name or "CHACHA20" in name), name
    assert scans["tls_1_3_cipher_suites"]["result"]["accepted_cipher_suites"], "TLS 1.3 not supported"
    curves = {c["name"] for c in scans["elliptic_curves"]["result"]["supported_curves"]}
    assert curves <= {"X25519", "prime256v1", "secp256r1", "secp384r1"}, curves


# --------------------------------------------------------------------------- start-up errors


def app_cli(*more: str) -> list[str]:
    return ["--app", "edge_app:app", "--app-dir", str(APPS), "--host", HOST, "--port", "0", "--workers", "1", *more]


@pytest.mark.parametrize(
    "case",
    ["missing-cert", "missing-key", "cert-is-directory", "cert-not-pem", "mismatched-pair", "cert-without-key",
     "key-without-cert", "missing-client-ca", "bad-min-version"],
)
def test_bad_tls_settings_are_startup_errors(pki, tmp_path, case):
    rsa_cert, ec_cert = pki["rsa"], pki["ec"]
    garbage = tmp_path / "garbage.pem"
    garbage.write_text("this is not a certificate\n")
    args, needles = {
        "missing-cert": (["--tls-cert", str(tmp_path / "nope.crt"), "--tls-key", str(rsa_cert.key_path)],
                         ["--tls-cert", "nope.crt"]),
        "missing-key": (["--tls-cert", str(rsa_cert.cert_path), "--tls-key", str(tmp_path / "nope.key")],
                        ["--tls-key", "nope.key"]),
        "cert-is-directory": (["--tls-cert", str(tmp_path), "--tls-key", str(rsa_cert.key_path)], ["--tls-cert"]),
        "cert-not-pem": (["--tls-cert", str(garbage), "--tls-key", str(rsa_cert.key_path)], ["--tls-cert"]),
        "mismatched-pair": (["--tls-cert", str(rsa_cert.cert_path), "--tls-key", str(ec_cert.key_path)],
                            ["--tls-cert", "--tls-key", "match"]),
        "cert-without-key": (["--tls-cert", str(rsa_cert.cert_path)], ["--tls-key"]),
        "key-without-cert": (["--tls-key", str(rsa_cert.key_path)], ["--tls-cert"]),
        "missing-client-ca": ([*tls_args(ec_cert), "--tls-client-ca", str(tmp_path / "nope-ca.crt")],
                              ["--tls-client-ca"]),
        "bad-min-version": ([*tls_args(ec_cert), "--tls-min-version", "1.1"], ["--tls-min-version"]),
    }[case]
    res = run_cli(app_cli(*args), timeout=30)
    assert res.returncode != 0, f"started with {case}:\n{res.output}"
    assert res.elapsed < 15, f"took {res.elapsed:.1f}s to fail"
    assert "serving" not in res.stderr, res.stderr
    for needle in needles:
        assert needle in res.output, f"{needle!r} not in the output for {case}:\n{res.output}"


# --------------------------------------------------------------------------- SIGHUP reload


def test_sighup_reloads_certificate_without_dropping_connections(pki, tmp_path):
    d = tmp_path / "live"
    d.mkdir()
    old = make_cert(d, "old", "ec")
    new = make_cert(d, "new", "ec")
    live_cert, live_key = d / "live.crt", d / "live.key"
    shutil.copy(old.cert_path, live_cert)
    shutil.copy(old.key_path, live_key)
    with running("edge_app:app", args=["--workers", "1", "--tls-cert", str(live_cert), "--tls-key", str(live_key)]) as srv:
        kept, _, err = tls_connect(srv.port, client_ctx(alpn=["http/1.1"]))
        assert kept is not None, repr(err)
        with kept:
            assert peer_serial(kept) == old.serial
            assert http11(kept)[0] == 200  # keep-alive

            # Renew: both files replaced, then SIGHUP.
            for src, dst in ((new.cert_path, live_cert), (new.key_path, live_key)):
                tmp = dst.with_suffix(".tmp")
                shutil.copy(src, tmp)
                os.replace(tmp, dst)
            srv.proc.send_signal(signal.SIGHUP)
            assert srv.wait_for_log(lambda r: r.get("msg") == "reloaded TLS certificates", timeout=5), srv.logs()[-5:]

            fresh, _, err = tls_connect(srv.port, client_ctx())
            assert fresh is not None, repr(err)
            with fresh:
                assert peer_serial(fresh) == new.serial, "a new connection still gets the old certificate"
                assert http11(fresh, close=True)[0] == 200

            # The connection opened before the reload is still served, on the same socket.
            status, _, body = http11(kept)
            assert status == 200, body
            assert peer_serial(kept) == old.serial

            # A broken renewal keeps the current certificate.
            live_cert.write_text("garbage\n")
            srv.proc.send_signal(signal.SIGHUP)
            assert srv.wait_for_log(lambda r: "reloading TLS certificates failed" in str(r.get("msg")), timeout=5)
            again, _, err = tls_connect(srv.port, client_ctx())
            assert again is not None, f"a failed reload broke new handshakes: {err!r}"
            with again:
                assert peer_serial(again) == new.serial
            assert http11(kept, close=True)[0] == 200


# --------------------------------------------------------------------------- redirect, client certificates


def test_redirect_http_to_https(pki):
    rport = free_port()
    args = ["--workers", "1", *tls_args(pki["ec"], "--redirect-http", f"{HOST}:{rport}")]
    with running("edge_app:app", args=args) as srv:
        for method, target in (("GET", "/hello?tag=a%20b&x=1"), ("POST", "/json?tag=p"), ("GET", "/no/such/path")):
            r = requests.request(method, f"http://{HOST}:{rport}{target}", allow_redirects=False, timeout=HTTP_TIMEOUT)
            assert r.status_code == 308, (method, target, r.status_code, r.text)
            assert r.headers["Location"] == f"https://{HOST}:{srv.port}{target}", r.headers
        # Following it lands on the app over TLS.
        r = requests.get(f"http://{HOST}:{rport}/hello?tag=followed", timeout=HTTP_TIMEOUT, verify=str(pki["ec"].cert_path))
        assert r.status_code == 200 and r.json()["tag"] == "followed", r.text
        assert r.url == f"https://{HOST}:{srv.port}/hello?tag=followed"
        # The app itself is not served in clear text on the redirect port.
        assert srv.wait_for_text("edge-hit /hello followed")
        assert not srv.wait_for_text("edge-hit /hello a b", timeout=0.2)


def test_client_certificate_required(pki):
    args = ["--workers", "1", *tls_args(pki["ec"], "--tls-client-ca", str(pki["client_ca"].cert_path))]
    with running("edge_app:app", args=args) as srv:
        for version in (V.TLSv1_2, V.TLSv1_3):
            status, port_none, err = try_get(srv.port, client_ctx(min_version=version, max_version=version))
            assert status is None, f"{version.name} client without a certificate got HTTP {status}"
            handshake_failure_logged(srv, port_none)
            status, port_bad, err = try_get(
                srv.port, client_ctx(min_version=version, max_version=version, client_cert=pki["stranger"]))
            assert status is None, f"{version.name} client with a certificate from another CA got HTTP {status}"
            handshake_failure_logged(srv, port_bad)
            status, _, err = try_get(srv.port, client_ctx(min_version=version, max_version=version, client_cert=pki["client"]))
            assert status == 200, f"{version.name} client with a certificate signed by the CA refused: {err!r}"


# --------------------------------------------------------------------------- HSTS and security headers


def assert_default_headers(headers: Any) -> None:
    for name, value in DEFAULT_HEADERS.items():
        assert headers.get(name) == value, (name, dict(headers))
    assert "Server" not in headers, dict(headers)


@pytest.mark.parametrize("path", ["/hello", "/no/such/path"], ids=["route", "go-404"])
def test_hsts_over_tls_only_and_security_headers(tls_server, plain_server, pki, path):
    secure = requests.get(tls_server.url(path), timeout=HTTP_TIMEOUT, verify=str(pki["rsa"].cert_path))
    assert_default_headers(secure.headers)
    assert secure.headers.get("Strict-Transport-Security") == DEFAULT_HSTS, dict(secure.headers)
    plain = requests.get(plain_server.url(path), timeout=HTTP_TIMEOUT)
    assert plain.status_code == secure.status_code
    assert_default_headers(plain.headers)
    assert "Strict-Transport-Security" not in plain.headers, dict(plain.headers)


def test_security_headers_dict_extends_defaults(pki):
    with running("edge_headers:app_dict", args=["--workers", "1", *tls_args(pki["ec"])]) as srv:
        r = requests.get(srv.url("/hello"), timeout=HTTP_TIMEOUT, verify=str(pki["ec"].cert_path))
    assert r.status_code == 200, r.text
    assert r.headers.get("X-Frame-Options") == "SAMEORIGIN", dict(r.headers)  # replaced
    assert r.headers.get("X-Edge-Extra") == "on", dict(r.headers)  # added
    for name, value in DEFAULT_HEADERS.items():  # the rest of the defaults stay
        if name != "X-Frame-Options":
            assert r.headers.get(name) == value, (name, dict(r.headers))
    assert r.headers.get("Strict-Transport-Security") == "max-age=600", dict(r.headers)
    assert "Server" not in r.headers


def test_security_headers_flag_null_removes_and_inherit_defaults_false(pki):
    removing = json.dumps({"X-Frame-Options": None, "Strict-Transport-Security": None})
    with running("edge_app:app", args=["--workers", "1", *tls_args(pki["ec"]), "--security-headers", removing]) as srv:
        r = requests.get(srv.url("/hello"), timeout=HTTP_TIMEOUT, verify=str(pki["ec"].cert_path))
    assert r.status_code == 200
    assert "X-Frame-Options" not in r.headers and "Strict-Transport-Security" not in r.headers, dict(r.headers)
    assert r.headers.get("X-Content-Type-Options") == "nosniff", dict(r.headers)
    only = json.dumps({"inherit_defaults": False, "X-Only": "1"})
    with running("edge_app:app", args=["--workers", "1", *tls_args(pki["ec"]), "--security-headers", only]) as srv:
        r = requests.get(srv.url("/hello"), timeout=HTTP_TIMEOUT, verify=str(pki["ec"].cert_path))
    assert r.status_code == 200
    assert r.headers.get("X-Only") == "1", dict(r.headers)
    for name in (*DEFAULT_HEADERS, "Strict-Transport-Security"):
        assert name not in r.headers, (name, dict(r.headers))


def test_security_headers_false_removes_them(pki):
    with running("edge_headers:app_off", args=["--workers", "1", *tls_args(pki["ec"])]) as srv:
        r = requests.get(srv.url("/hello"), timeout=HTTP_TIMEOUT, verify=str(pki["ec"].cert_path))
        nf = requests.get(srv.url("/no/such/path"), timeout=HTTP_TIMEOUT, verify=str(pki["ec"].cert_path))
    assert r.status_code == 200 and nf.status_code == 404
    for resp in (r, nf):
        for name in (*DEFAULT_HEADERS, "Strict-Transport-Security", "Server"):
            assert name not in resp.headers, (name, dict(resp.headers))
