"""Fixtures for the end-to-end tests: a real `hibikid` and real WebSocket clients.

The clients use the `websockets` library (not written here), so these tests check the server
against an independent implementation of WebSocket. The tests are plain synchronous pytest
functions: every client runs on one background asyncio loop, and the `Client` facade blocks on
that loop with bounded timeouts, so a misbehaving server fails a test instead of hanging it.

The binary under test comes from the `HIBIKID` environment variable (CTest sets it), or else from
the usual build directories.

With `HIBIKI_E2E_TLS=1` every server is started with a certificate made for the test session (a
self-signed CA and a server certificate for 127.0.0.1, by the `openssl` command) and every client
speaks https:// and wss://, trusting that CA only: the same tests then check the server over TLS.
"""

import asyncio
import http.client
import json
import os
import re
import secrets
import signal
import ssl
import subprocess
import tempfile
import threading
import time

import pytest
import websockets

# Default bound for one reply or one event. Generous: a slow CI machine must not fail a test, and a
# hung server still fails it in bounded time.
DEFAULT_TIMEOUT = 15.0
START_TIMEOUT = 30.0
STOP_TIMEOUT = 30.0

SERVING_RE = re.compile(r"hibikid: serving (https?)://([^\s:/]+):(\d+)")

# Flags every test server gets unless the test gives the same flag itself. Sign-up is closed by
# default and limited per address, and every client here is 127.0.0.1: the tests that check those
# limits set them explicitly.
DEFAULT_FLAGS = {
    "--open-signup": "true",
    "--signup-rate": "0",
    "--max-connections-per-ip": "0",
}

TLS = os.environ.get("HIBIKI_E2E_TLS", "") not in ("", "0")


def make_test_certs(directory):
    """A CA and a server certificate for 127.0.0.1/localhost signed by it, made with `openssl`.
    Returns {"ca", "cert", "key"} paths. `issue_server_cert` makes more under the same CA."""
    os.makedirs(directory, exist_ok=True)
    ca, ca_key = os.path.join(directory, "ca.pem"), os.path.join(directory, "ca.key")
    _openssl(
        "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-days", "2", "-subj", "/CN=hibiki-e2e-ca", "-keyout", ca_key, "-out", ca,
    )
    cert, key = os.path.join(directory, "server.pem"), os.path.join(directory, "server.key")
    certs = {"dir": directory, "ca": ca, "ca_key": ca_key, "cert": cert, "key": key}
    issue_server_cert(certs, cert, key)
    return certs


def issue_server_cert(certs, cert_out, key_out, names="IP:127.0.0.1,DNS:localhost", days=2):
    """A new key and certificate under `certs`' CA for `names` (subjectAltName entries; by
    default 127.0.0.1 and localhost), valid for `days` (0: it expires the second it is made)."""
    san = os.path.join(certs["dir"], "san.cnf")
    with open(san, "w") as f:
        f.write(f"subjectAltName={names}\n")
    csr = os.path.join(certs["dir"], "server.csr")
    _openssl(
        "req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
        "-subj", "/CN=" + names.split(",")[0].split(":", 1)[1], "-keyout", key_out, "-out", csr,
    )
    _openssl(
        "x509", "-req", "-days", str(days), "-CA", certs["ca"], "-CAkey", certs["ca_key"],
        "-CAcreateserial", "-extfile", san, "-in", csr, "-out", cert_out,
    )


def _openssl(*args):
    r = subprocess.run(["openssl", *args], capture_output=True, timeout=60)
    assert r.returncode == 0, f"openssl {args!r}: {r.stderr.decode(errors='replace')}"


def client_ssl_context(ca_file):
    """A client context that trusts only `ca_file` and checks host names (TLS 1.2+)."""
    ctx = ssl.create_default_context(cafile=ca_file)
    ctx.minimum_version = ssl.TLSVersion.TLSv1_2
    return ctx


_session_certs = None


def session_certs():
    """The certificates of the TLS mode, made once per test session."""
    global _session_certs
    if _session_certs is None:
        _session_certs = make_test_certs(tempfile.mkdtemp(prefix="hibiki-e2e-tls-"))
    return _session_certs


def _find_cli():
    """The `hibiki` client: HIBIKI_CLI (CTest sets it), else next to hibikid."""
    env = os.environ.get("HIBIKI_CLI")
    if env:
        return env
    hibikid = os.environ.get("HIBIKID") or _find_hibikid() or ""
    candidate = os.path.join(os.path.dirname(hibikid), "hibiki")
    return candidate if os.access(candidate, os.X_OK) else None


def _find_hibikid():
    env = os.environ.get("HIBIKID")
    if env:
        return env
    here = os.path.dirname(os.path.abspath(__file__))
    root = os.path.abspath(os.path.join(here, "..", ".."))
    for build in ("build", "build-e2e"):
        for candidate in (
            os.path.join(root, build, "bin", "hibikid"),
            os.path.join(os.path.dirname(root), build, "bin", "hibikid"),
        ):
            if os.access(candidate, os.X_OK):
                return candidate
    return None


CLI = _find_cli()
# For the modules that run the `hibiki` client: they need it (CTest always gives it).
needs_cli = pytest.mark.skipif(CLI is None, reason="set HIBIKI_CLI to the hibiki binary")


# ---- the background event loop -----------------------------------------------------------------


class _Loop:
    """One asyncio loop on a daemon thread, shared by every client of the test session."""

    _lock = threading.Lock()
    _loop = None

    @classmethod
    def get(cls):
        with cls._lock:
            if cls._loop is None:
                loop = asyncio.new_event_loop()
                t = threading.Thread(target=loop.run_forever, name="e2e-asyncio", daemon=True)
                t.start()
                cls._loop = loop
            return cls._loop

    @classmethod
    def run(cls, coro, timeout):
        fut = asyncio.run_coroutine_threadsafe(coro, cls.get())
        try:
            return fut.result(timeout)
        except TimeoutError:
            fut.cancel()
            raise


class ConnectionLost(AssertionError):
    """The connection closed while a test waited for a reply or an event."""


class Client:
    """One WebSocket connection. Replies are matched by `re`; events go to their own queue."""

    def __init__(self, ws_url, subprotocols=None, timeout=DEFAULT_TIMEOUT, ssl_context=None,
                 origin=None, extra_headers=None):
        self.ws_url = ws_url
        self._cv = threading.Condition()
        self._next_id = 0
        self.replies = {}  # re -> list of replies (more than one would be a server bug)
        self.null_replies = []  # replies with "re": null
        self.events = []  # pushes not yet taken by next_event
        self.all_events = []  # every push, in arrival order
        self.unknown = []  # frames that are neither reply nor event
        self.binary_frames = []
        self.closed = False
        self.close_code = None
        self.close_reason = None
        self.account_id = None
        self.name = None
        self.token = None
        self.ws = _Loop.run(
            self._connect(
                ws_url,
                subprotocols=subprotocols,
                max_size=None,  # the server may send big history replies
                ping_interval=None,
                open_timeout=timeout,
                close_timeout=2,
                **({"ssl": ssl_context} if ssl_context is not None else {}),
                **({"origin": origin} if origin is not None else {}),
                **({"extra_headers": extra_headers} if extra_headers else {}),
            ),
            timeout + 5,
        )
        self._reader = asyncio.run_coroutine_threadsafe(self._read(), _Loop.get())

    @staticmethod
    async def _connect(url, **kwargs):
        return await websockets.connect(url, **kwargs)

    async def _read(self):
        ws = self.ws
        try:
            async for raw in ws:
                with self._cv:
                    if isinstance(raw, bytes):
                        self.binary_frames.append(raw)
                    else:
                        try:
                            msg = json.loads(raw)
                        except ValueError:
                            msg = {"_unparsable": raw}
                        if isinstance(msg, dict) and "re" in msg:
                            if msg["re"] is None:
                                self.null_replies.append(msg)
                            else:
                                self.replies.setdefault(msg["re"], []).append(msg)
                        elif isinstance(msg, dict) and "ev" in msg:
                            self.events.append(msg)
                            self.all_events.append(msg)
                        else:
                            self.unknown.append(msg)
                    self._cv.notify_all()
        except Exception:  # ConnectionClosedError and transport errors end the stream too
            pass
        finally:
            with self._cv:
                self.closed = True
                self.close_code = ws.close_code
                self.close_reason = ws.close_reason
                self._cv.notify_all()

    # ---- sending ----

    def send_text(self, text, timeout=DEFAULT_TIMEOUT):
        _Loop.run(self.ws.send(text), timeout)

    def send_bytes(self, data, timeout=DEFAULT_TIMEOUT):
        _Loop.run(self.ws.send(bytes(data)), timeout)

    def send_json(self, obj, timeout=DEFAULT_TIMEOUT):
        self.send_text(json.dumps(obj), timeout)

    def new_id(self):
        with self._cv:
            self._next_id += 1
            return self._next_id

    def send(self, op, **fields):
        """Sends a request without waiting; returns its id (pipelining)."""
        rid = self.new_id()
        frame = {"id": rid, "op": op}
        frame.update(fields)
        self.send_json(frame)
        return rid

    def reply(self, rid, timeout=DEFAULT_TIMEOUT):
        """Waits for the reply with `re == rid` (replies may come in any order)."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while rid not in self.replies:
                if self.closed:
                    raise ConnectionLost(
                        f"connection closed (code {self.close_code}) before the reply to {rid}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no reply to request {rid} within {timeout}s")
                self._cv.wait(left)
            return self.replies[rid][0]

    def request(self, op, timeout=DEFAULT_TIMEOUT, **fields):
        return self.reply(self.send(op, **fields), timeout)

    def ok(self, op, timeout=DEFAULT_TIMEOUT, **fields):
        """A request that must succeed; returns the reply."""
        r = self.request(op, timeout=timeout, **fields)
        assert r.get("ok") is True, f"{op} {fields!r} failed: {r!r}"
        return r

    def fail(self, op, code, timeout=DEFAULT_TIMEOUT, **fields):
        """A request that must fail with error `code` (or one of the codes in a tuple)."""
        r = self.request(op, timeout=timeout, **fields)
        codes = code if isinstance(code, tuple) else (code,)
        assert r.get("ok") is False, f"{op} {fields!r}: expected {codes}, got {r!r}"
        assert isinstance(r.get("error"), dict), r
        assert r["error"].get("code") in codes, f"{op} {fields!r}: expected {codes}, got {r!r}"
        assert isinstance(r["error"].get("message"), str), r
        return r

    def null_reply(self, timeout=DEFAULT_TIMEOUT):
        """Waits for (and takes) the next reply with `"re": null`."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while not self.null_replies:
                if self.closed:
                    raise ConnectionLost(f"connection closed (code {self.close_code})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no reply with re null within {timeout}s")
                self._cv.wait(left)
            return self.null_replies.pop(0)

    # ---- events ----

    def _take(self, ev, pred):
        for i, e in enumerate(self.events):
            if (ev is None or e.get("ev") == ev) and (pred is None or pred(e)):
                return self.events.pop(i)
        return None

    def next_event(self, ev=None, timeout=DEFAULT_TIMEOUT, pred=None):
        """Takes the oldest queued push named `ev` (any push when None) that satisfies `pred`."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                e = self._take(ev, pred)
                if e is not None:
                    return e
                if self.closed:
                    raise ConnectionLost(
                        f"connection closed (code {self.close_code}) while waiting for {ev}"
                    )
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(
                        f"no {ev or 'event'} within {timeout}s; queued: {self.events[:5]!r}"
                    )
                self._cv.wait(left)

    def no_event(self, ev=None, timeout=0.5, pred=None):
        """Asserts that no push named `ev` arrives (or is queued) within `timeout`."""
        time.sleep(timeout)
        with self._cv:
            got = [
                e
                for e in self.events
                if (ev is None or e.get("ev") == ev) and (pred is None or pred(e))
            ]
        assert not got, f"unexpected events: {got[:5]!r}"

    def take_events(self):
        with self._cv:
            out, self.events = self.events, []
            return out

    def events_until(self, ev, timeout=DEFAULT_TIMEOUT):
        """Takes every queued push up to and including the first named `ev`, in arrival order."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                for i, e in enumerate(self.events):
                    if e.get("ev") == ev:
                        out = self.events[: i + 1]
                        self.events = self.events[i + 1 :]
                        return out
                if self.closed:
                    raise ConnectionLost(f"connection closed (code {self.close_code})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {ev} within {timeout}s")
                self._cv.wait(left)

    def wait_events(self, n, ev=None, room_id=None, timeout=DEFAULT_TIMEOUT):
        """Waits until at least `n` matching pushes have arrived in total; returns them all."""

        def match(e):
            return (ev is None or e.get("ev") == ev) and (
                room_id is None or e.get("room_id") == room_id
            )

        deadline = time.monotonic() + timeout
        with self._cv:
            while True:
                got = [e for e in self.all_events if match(e)]
                if len(got) >= n:
                    return got
                if self.closed:
                    raise ConnectionLost(f"connection closed (code {self.close_code})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"{len(got)} of {n} {ev} events within {timeout}s")
                self._cv.wait(left)

    # ---- closing ----

    def wait_closed(self, timeout=DEFAULT_TIMEOUT):
        """Waits until the server closes the connection; returns the close code."""
        deadline = time.monotonic() + timeout
        with self._cv:
            while not self.closed:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"connection still open after {timeout}s")
                self._cv.wait(left)
            return self.close_code

    def close(self):
        if not self.closed:
            try:
                _Loop.run(self.ws.close(), 5)
            except Exception:
                pass
        try:
            self._reader.result(5)
        except Exception:
            self._reader.cancel()


# ---- the server ----------------------------------------------------------------------------------


class Server:
    """A real `hibikid` process on a free loopback port with its own data directory."""

    def __init__(self, binary, data_dir, log_dir, extra_args=(), tls_certs=None,
                 test_defaults=True, admin_token=True):
        self.binary = binary
        self.with_admin_token = admin_token
        self.data_dir = str(data_dir)
        self.log_dir = str(log_dir)
        # TLS: {"ca", "cert", "key"} (make_test_certs); None = plain, unless the TLS mode is on.
        self.tls_certs = tls_certs if tls_certs is not None else (session_certs() if TLS else None)
        self.extra_args = list(extra_args)
        self.test_defaults = test_defaults  # False: hibikid's own defaults (DEFAULT_FLAGS not added)
        self.ssl_context = (
            client_ssl_context(self.tls_certs["ca"]) if self.tls_certs is not None else None
        )
        self.proc = None
        self.going_down = False  # set before this test stops or kills the server
        self.host = None
        self.port = None
        self.clients = []
        self.all_clients = []
        self.stdout_lines = []
        self._starts = 0
        os.makedirs(self.data_dir, exist_ok=True)
        os.makedirs(self.log_dir, exist_ok=True)
        # The operator endpoints want an admin token (nothing is trusted for being loopback):
        # every test server gets one, in a file only its owner can read, unless the test passes
        # its own --admin-token-file or --admin-http.
        self.admin_token = secrets.token_hex(32)
        self.admin_token_file = os.path.join(self.log_dir, "admin-token")
        fd = os.open(self.admin_token_file, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        with os.fdopen(fd, "w") as f:
            f.write(self.admin_token + "\n")

    # ---- lifecycle ----

    @property
    def url(self):
        return f"{'https' if self.ssl_context else 'http'}://{self.host}:{self.port}"

    @property
    def ws_url(self):
        return f"{'wss' if self.ssl_context else 'ws'}://{self.host}:{self.port}/ws"

    def start(self):
        assert self.proc is None or self.proc.poll() is not None, "already running"
        self.going_down = False
        self._starts += 1
        self.stderr_path = os.path.join(self.log_dir, f"hibikid-{self._starts}.stderr")
        stderr = open(self.stderr_path, "wb")
        args = [self.binary, "--http=127.0.0.1:0", f"--data-dir={self.data_dir}"]
        if self.with_admin_token and not any(
                a.startswith(("--admin-token-file", "--admin-http")) for a in self.extra_args):
            args.append(f"--admin-token-file={self.admin_token_file}")
        given = {a.split("=", 1)[0] for a in self.extra_args}
        if self.test_defaults:
            args += [f"{k}={v}" for k, v in DEFAULT_FLAGS.items() if k not in given]
        if self.tls_certs is not None and "--tls-cert" not in given:
            args += [f"--tls-cert={self.tls_certs['cert']}", f"--tls-key={self.tls_certs['key']}"]
        args += self.extra_args
        self.proc = subprocess.Popen(
            args, stdout=subprocess.PIPE, stderr=stderr, stdin=subprocess.DEVNULL
        )
        stderr.close()
        found = threading.Event()
        lines = []
        self.stdout_lines = lines
        proc = self.proc

        def pump():
            # Keeps reading stdout so that the server never blocks on a full pipe.
            for raw in proc.stdout:
                line = raw.decode("utf-8", "replace").rstrip("\n")
                lines.append(line)
                m = SERVING_RE.search(line)
                if m and not found.is_set():
                    self.scheme, self.host, self.port = m.group(1), m.group(2), int(m.group(3))
                    found.set()
            found.set()

        threading.Thread(target=pump, name="hibikid-stdout", daemon=True).start()
        found.wait(START_TIMEOUT)
        if self.port is None or proc.poll() is not None:
            self._kill()
            raise AssertionError(
                f"hibikid did not print its serving line within {START_TIMEOUT}s "
                f"(exit {proc.poll()}); stdout: {lines!r}; stderr: {self.stderr_tail()}"
            )
        # A TLS test server must really serve TLS (and a plain one plain): no silent downgrade.
        expected = "https" if self.ssl_context is not None else "http"
        assert self.scheme == expected, f"hibikid serves {self.scheme}, the test expects {expected}"
        return self

    def stderr_tail(self, n=3000):
        try:
            with open(self.stderr_path, "rb") as f:
                return f.read()[-n:].decode("utf-8", "replace")
        except OSError:
            return ""

    def _close_clients(self):
        for c in self.clients:
            c.close()
        self.clients = []

    def close_clients(self):
        """Closes every client connection of this server (the client side closes)."""
        self._close_clients()
        time.sleep(0.2)  # let the server see the closes

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; the server must exit on its own with code 0. Returns the exit code."""
        assert self.proc is not None
        self.going_down = True
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            self._kill()
            raise AssertionError(f"hibikid did not exit within {timeout}s of SIGTERM")
        self._close_clients()
        assert rc == 0, f"hibikid exited with {rc} after SIGTERM; stderr: {self.stderr_tail()}"
        return rc

    def kill9(self):
        """SIGKILL: no chance to flush anything that was not already durable."""
        self._kill()
        self._close_clients()

    def _kill(self):
        self.going_down = True
        if self.proc is not None and self.proc.poll() is None:
            self.proc.kill()
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                pass

    def restart(self):
        """Stops (SIGTERM, exit 0) if running, then starts again on the same data dir."""
        if self.proc is not None and self.proc.poll() is None:
            self.stop()
        self.port = None
        return self.start()

    def teardown(self):
        for c in self.clients:
            try:
                c.close()
            except Exception:
                pass
        self.clients = []
        self._kill()

    # ---- HTTP ----

    def http(self, method, path, body=None, headers=None, timeout=DEFAULT_TIMEOUT):
        """Returns (status, body bytes)."""
        if self.ssl_context is not None:
            conn = http.client.HTTPSConnection(
                self.host, self.port, timeout=timeout, context=self.ssl_context
            )
        else:
            conn = http.client.HTTPConnection(self.host, self.port, timeout=timeout)
        try:
            if isinstance(body, (dict, list)):
                body = json.dumps(body)
            if isinstance(body, str):
                body = body.encode("utf-8")
            hdrs = {"Content-Type": "application/json"} if body is not None else {}
            hdrs.update(headers or {})
            conn.request(method, path, body=body, headers=hdrs)
            resp = conn.getresponse()
            return resp.status, resp.read()
        finally:
            conn.close()

    def operator_http(self, method, path, body=None, timeout=DEFAULT_TIMEOUT):
        """An operator endpoint (/api/journal, /api/cluster, /api/admin/...) with the admin token."""
        return self.http(method, path, body,
                         headers={"Authorization": f"Bearer {self.admin_token}"}, timeout=timeout)

    def signup(self, name):
        """Signs up an account; returns (account_id, token)."""
        status, body = self.http("POST", "/api/signup", {"name": name})
        assert status == 200, f"signup {name!r}: HTTP {status} {body[:200]!r}"
        j = json.loads(body)
        assert isinstance(j.get("account_id"), int) and j["account_id"] > 0, j
        assert j.get("name") == name, j
        assert isinstance(j.get("token"), str) and len(j["token"]) >= 16, j
        return j["account_id"], j["token"]

    # ---- WebSocket ----

    def connect(self, token=None, subprotocols=None, origin=None):
        """A new connection; authenticated with `token` when one is given."""
        c = Client(self.ws_url, subprotocols=subprotocols, ssl_context=self.ssl_context,
                   origin=origin)
        self.clients.append(c)
        self.all_clients.append(c)
        if token is not None:
            r = c.ok("auth", token=token)
            c.account_id = r["account_id"]
            c.name = r["name"]
            c.token = token
        return c

    def user(self, name):
        """Signs up `name` and returns an authenticated connection for it."""
        account_id, token = self.signup(name)
        c = self.connect(token)
        assert c.account_id == account_id
        return c

    def healthz(self):
        status, _ = self.http("GET", "/healthz")
        return status


@pytest.fixture
def hibikid_binary():
    binary = _find_hibikid()
    if binary is None or not os.access(binary, os.X_OK):
        pytest.fail("hibikid not found: set HIBIKID to the binary (ctest does)")
    return binary


@pytest.fixture
def server_factory(hibikid_binary, tmp_path):
    """Starts hibikid with extra command-line arguments; every server is killed at teardown."""
    servers = []

    def make(*extra_args, data_dir=None, tls_certs=None, test_defaults=True, admin_token=True):
        n = len(servers)
        s = Server(
            hibikid_binary,
            data_dir or tmp_path / f"data{n}",
            tmp_path / f"logs{n}",
            extra_args,
            tls_certs=tls_certs,
            test_defaults=test_defaults,
            admin_token=admin_token,
        )
        servers.append(s)
        return s.start()

    yield make
    duplicated, malformed = [], []
    for s in servers:
        for c in s.all_clients:
            duplicated += [rs for rs in c.replies.values() if len(rs) > 1]
            malformed += [e for e in c.all_events if event_shape_error(e)]
            malformed += c.unknown + [{"binary": b[:50]} for b in c.binary_frames]
        s.teardown()
    # Every request gets exactly one reply, and every push has the contract's fields.
    assert not duplicated, f"requests answered more than once: {duplicated[:3]!r}"
    assert not malformed, [(event_shape_error(e), e) for e in malformed[:3]]


# The fields every push must carry (ws-protocol-v1, Events).
EVENT_FIELDS = {
    "message_created": {"room_id", "seq", "message"},
    "message_updated": {"room_id", "seq", "message"},
    "message_deleted": {"room_id", "seq", "message_id"},
    "room_created": {"room_id", "seq", "name"},
    "member_added": {"room_id", "seq", "account_id", "role"},
    "member_removed": {"room_id", "seq", "account_id"},
    "read": {"room_id", "message_id", "unread_num", "mention_num"},
    "synced": set(),
    "gap": {"room_id", "seq"},
    # Extensions (docs/protocol.md, "Rooms the Chatwork way").
    "room_updated": {"room_id", "seq", "name", "description", "icon_preset"},
    "room_deleted": {"room_id", "seq"},
    "task_added": {"room_id", "seq", "task"},
    "task_updated": {"room_id", "seq", "task"},
    # People and contacts (docs/protocol.md, "People and contacts").
    "contact_request": {"request_id", "account_id", "message", "time"},
    "contact_added": {"account_id", "room_id"},
    "account_updated": {"account"},
    # Files (docs/protocol.md, "Files").
    "file_uploaded": {"room_id", "seq", "file"},
}
FILE_FIELDS = {"file_id", "account_id", "message_id", "filename", "size", "upload_time"}
TASK_FIELDS = {"task_id", "room_id", "account", "assigned_by_account", "message_id", "body",
               "limit_time", "limit_type", "status", "time", "update_time"}
MESSAGE_FIELDS = {"message_id", "account_id", "account", "body", "send_time", "update_time",
                  "deleted"}


def event_shape_error(e):
    """What is wrong with a push, or None."""
    if not isinstance(e, dict) or e.get("ev") not in EVENT_FIELDS:
        return "unknown event"
    missing = EVENT_FIELDS[e["ev"]] - set(e)
    if missing:
        return f"missing {sorted(missing)}"
    for k in ("room_id", "seq", "account_id", "unread_num", "mention_num"):
        if k in e and not (type(e[k]) is int and e[k] >= (0 if k.endswith("_num") else 1)):
            return f"bad {k}"
    if "message_id" in e and not (isinstance(e["message_id"], str) and e["message_id"].isdigit()):
        return "bad message_id"
    if e["ev"] in ("message_created", "message_updated"):  # contact_request's message is text
        m = e["message"]
        if not isinstance(m, dict) or MESSAGE_FIELDS - set(m):
            return "bad message object"
        if not (isinstance(m["message_id"], str) and m["message_id"].isdigit()):
            return "bad message.message_id"
    if e["ev"] == "account_updated":
        a = e["account"]
        if not (isinstance(a, dict) and set(a) == {"account_id", "name"}
                and type(a["account_id"]) is int and a["account_id"] >= 1
                and isinstance(a["name"], str) and a["name"]):
            return "bad account object"
    if e["ev"] in ("member_added",) and e["role"] not in ("admin", "member", "readonly"):
        return "bad role"
    if e["ev"] == "room_created" and e.get("type", "group") not in ("group", "my", "direct"):
        return "bad type"
    if "task" in e:
        t = e["task"]
        if not isinstance(t, dict) or TASK_FIELDS - set(t):
            return "bad task object"
        if t["status"] not in ("open", "done") or t["limit_type"] not in ("none", "date", "time"):
            return "bad task status or limit_type"
        if t["room_id"] != e["room_id"]:
            return "task of another room"
        for who in ("account", "assigned_by_account"):
            p = t[who]
            if not (isinstance(p, dict) and type(p.get("account_id")) is int and
                    isinstance(p.get("name"), str)):
                return f"bad task {who}"
        if not (isinstance(t["message_id"], str) and (t["message_id"] == "" or
                                                       t["message_id"].isdigit())):
            return "bad task message_id"
    if e["ev"] == "file_uploaded" and (not isinstance(e["file"], dict)
                                       or set(e["file"]) != FILE_FIELDS):
        return "bad file object"
    return None


@pytest.fixture
def server(server_factory):
    """A fresh hibikid on a free port with an empty data dir."""
    return server_factory()


# ---- helpers shared by the tests ---------------------------------------------------------------


def wait_for(predicate, what, timeout=DEFAULT_TIMEOUT):
    """Polls until `predicate()` returns something truthy and returns it; fails the test with
    "`what` within TIMEOUTs" when it does not in time (log lines and stdout lines land a moment
    after what caused them). `what` may be a function, called only then."""
    deadline = time.monotonic() + timeout
    while True:
        got = predicate()
        if got:
            return got
        if time.monotonic() > deadline:
            raise AssertionError(f"{what() if callable(what) else what} within {timeout}s")
        time.sleep(0.05)


def stdout_match(server, pattern, timeout=15):
    """The first match of `pattern` in the server's stdout (read by a background thread)."""

    def first_match():
        for line in list(server.stdout_lines):
            m = re.search(pattern, line)
            if m:
                return m
        return None

    return wait_for(first_match, lambda: f"no {pattern!r} in {server.stdout_lines!r}", timeout)


def admin_listener(server):
    """(scheme, port) of the server's --admin-http listener, from the line hibikid prints."""
    m = stdout_match(server, r"hibikid: admin listener on (https?)://[^\s:/]+:(\d+)")
    return m.group(1), int(m.group(2))


def send_many(client, room_id, bodies, window=32, id_prefix=None, timeout=60.0):
    """Sends `bodies` to a room, pipelined `window` at a time, retrying `rate_limited` replies
    with the same client_msg_id. Returns [(client_msg_id, body, reply)] in send order."""
    prefix = id_prefix or f"c{client.account_id}-{time.monotonic_ns()}"
    pending = []  # (cmid, body, request id)
    done = []
    todo = [(f"{prefix}-{i}", b) for i, b in enumerate(bodies)]
    todo.reverse()
    deadline = time.monotonic() + timeout
    results = {}
    order = [cmid for cmid, _ in reversed(todo)]
    backoff = 0.05
    while todo or pending:
        assert time.monotonic() < deadline, "send_many took too long"
        while todo and len(pending) < window:
            cmid, body = todo.pop()
            rid = client.send("send_message", room_id=room_id, body=body, client_msg_id=cmid)
            pending.append((cmid, body, rid))
        cmid, body, rid = pending.pop(0)
        r = client.reply(rid)
        if r.get("ok") is False and r["error"]["code"] == "rate_limited":
            todo.append((cmid, body))
            time.sleep(backoff)
            backoff = min(backoff * 2, 0.5)
            continue
        backoff = 0.05
        assert r.get("ok") is True, f"send_message {cmid}: {r!r}"
        results[cmid] = (cmid, body, r)
    for cmid in order:
        done.append(results[cmid])
    return done


def ok_retrying(client, op, timeout=30.0, **fields):
    """A request that must succeed, retried while the server says rate_limited."""
    deadline = time.monotonic() + timeout
    while True:
        r = client.request(op, **fields)
        if r.get("ok") is False and r["error"]["code"] == "rate_limited":
            assert time.monotonic() < deadline, f"{op} still rate limited"
            time.sleep(0.2)
            continue
        assert r.get("ok") is True, f"{op} {fields!r}: {r!r}"
        return r


def full_history(client, room_id):
    """Every message of a room, oldest first: the newest page, then `before` pagination."""
    out = []
    before = None
    for _ in range(100000):
        fields = {"room_id": room_id, "limit": 100}
        if before is not None:
            fields["before"] = before
        msgs = ok_retrying(client, "history", **fields)["messages"]
        if not msgs:
            return out
        out = msgs + out
        before = msgs[0]["message_id"]
    raise AssertionError("history pagination does not end")
