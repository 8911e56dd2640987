"""Metrics end to end: a real Prometheus server (Debian's `prometheus`) scrapes a real hibikid's
/metrics every second; WebSocket clients send N messages; PromQL over Prometheus's HTTP API must
see exactly N acknowledged sends (the requests counter and the send→ack histogram's count), the
failed sends under their error code, and the open connections. Then /healthz, /readyz and the bad
inputs of the operator endpoints against the same server.

Prometheus runs on a free loopback port with a generated config and its storage in the test's
temporary directory, and is stopped after the test."""

import json
import os
import shutil
import socket
import subprocess
import time
import urllib.parse
import urllib.request

import pytest

from conftest import send_many

PROMETHEUS = os.environ.get("HIBIKI_PROMETHEUS", "/usr/bin/prometheus")
N_PER_CLIENT = 20
CLIENTS = 3
N = N_PER_CLIENT * CLIENTS
# Bounds for a slow shared machine; the test fails (never hangs) when one is passed.
PROMETHEUS_START_TIMEOUT = 60.0
SCRAPE_TIMEOUT = 60.0


def free_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(url, timeout=10.0):
    """(status, body bytes); status 0 when nothing answered."""
    try:
        with urllib.request.urlopen(url, timeout=timeout) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()
    except (urllib.error.URLError, ConnectionError, TimeoutError):
        return 0, b""


class Prometheus:
    def __init__(self, tmp_path, target):
        self.port = free_port()
        self.dir = tmp_path / "prometheus"
        self.dir.mkdir()
        config = self.dir / "prometheus.yml"
        config.write_text(
            "global:\n"
            "  scrape_interval: 1s\n"
            "  scrape_timeout: 1s\n"
            "scrape_configs:\n"
            "  - job_name: hibiki\n"
            "    metrics_path: /metrics\n"
            "    static_configs:\n"
            f"      - targets: ['{target}']\n"
        )
        self.log = open(self.dir / "prometheus.log", "wb")
        self.proc = subprocess.Popen(
            [
                PROMETHEUS,
                f"--config.file={config}",
                f"--storage.tsdb.path={self.dir / 'data'}",
                f"--web.listen-address=127.0.0.1:{self.port}",
                "--log.level=warn",
            ],
            stdout=self.log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + PROMETHEUS_START_TIMEOUT
        while http_get(self.url("/-/ready"), timeout=2)[0] != 200:
            if self.proc.poll() is not None or time.monotonic() > deadline:
                self.stop()
                pytest.fail(f"prometheus did not become ready: {self.log_tail()}")
            time.sleep(0.2)

    def url(self, path):
        return f"http://127.0.0.1:{self.port}{path}"

    def log_tail(self):
        try:
            return (self.dir / "prometheus.log").read_bytes()[-2000:].decode("utf-8", "replace")
        except OSError:
            return ""

    def query(self, promql):
        """The instant vector of `promql` as [(labels, float)]."""
        status, body = http_get(self.url("/api/v1/query?" + urllib.parse.urlencode({"query": promql})))
        assert status == 200, f"query {promql!r}: HTTP {status} {body[:300]!r}"
        j = json.loads(body)
        assert j["status"] == "success", j
        return [(r["metric"], float(r["value"][1])) for r in j["data"]["result"]]

    def value(self, promql):
        """The single value of `promql`, or None while it has no sample."""
        result = self.query(promql)
        assert len(result) <= 1, f"{promql!r} gave several series: {result!r}"
        return result[0][1] if result else None

    def wait_value(self, promql, expected, timeout=SCRAPE_TIMEOUT):
        """Polls until `promql` equals `expected` (the next scrapes bring it); bounded."""
        deadline = time.monotonic() + timeout
        seen = None
        while time.monotonic() < deadline:
            seen = self.value(promql)
            if seen == expected:
                return seen
            time.sleep(0.5)
        raise AssertionError(f"{promql} = {seen!r}, expected {expected!r} within {timeout}s")

    def stop(self):
        if self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self.log.close()


@pytest.fixture
def prometheus_factory(tmp_path):
    if not os.access(PROMETHEUS, os.X_OK):
        pytest.fail(f"{PROMETHEUS} not found: install Debian's prometheus (scripts/install-deps)")
    started = []

    def make(target):
        p = Prometheus(tmp_path, target)
        started.append(p)
        return p

    yield make
    for p in started:
        p.stop()


def test_prometheus_counts_the_messages_sent(server, prometheus_factory):
    prom = prometheus_factory(f"{server.host}:{server.port}")
    prom.wait_value('up{job="hibiki"}', 1.0)

    owner = server.user("owner")
    senders = [owner] + [server.user(f"member{i}") for i in range(1, CLIENTS)]
    room = owner.ok("create_room", name="metrics", members=[s.account_id for s in senders[1:]])
    room_id = room["room_id"]
    for i, s in enumerate(senders):
        send_many(s, room_id, [f"message {i}-{k}" for k in range(N_PER_CLIENT)])
    # Failed sends, counted under their error code: a room that does not exist, an empty body.
    bad_room = owner.request("send_message", room_id=999999, body="x", client_msg_id="nope-1")
    assert bad_room.get("ok") is False, bad_room
    empty = owner.request("send_message", room_id=room_id, body="", client_msg_id="nope-2")
    assert empty.get("ok") is False, empty

    prom.wait_value('sum(hibiki_requests_total{op="send_message",result="ok"})', float(N))
    # Only acknowledged sends are timed: the histogram's count is N too.
    prom.wait_value("hibiki_send_ack_seconds_count", float(N))
    prom.wait_value('sum(hibiki_requests_total{op="send_message",result!="ok",result!="rate_limited"})', 2.0)
    codes = {m["result"] for m, _ in prom.query('hibiki_requests_total{op="send_message"}')}
    assert {bad_room["error"]["code"], empty["error"]["code"]} <= codes, codes
    prom.wait_value('sum(hibiki_requests_total{op="create_room",result="ok"})', 1.0)
    prom.wait_value('sum(hibiki_requests_total{op="auth",result="ok"})', float(CLIENTS))
    prom.wait_value("hibiki_websocket_connections", float(CLIENTS))

    # The latency quantiles a dashboard plots are computable and plausible.
    p99 = prom.value("histogram_quantile(0.99, sum by (le) (hibiki_send_ack_seconds_bucket))")
    assert p99 is not None and 0 < p99 < 60, p99
    # Every send went through a journal commit; a commit carries at least one append.
    commits = prom.value("hibiki_journal_commit_seconds_count")
    appends = prom.value("hibiki_journal_commit_appends_sum")
    assert commits is not None and commits >= 1, commits
    assert appends is not None and appends >= N, appends
    assert prom.value('hibiki_journal_breaker_state{state="closed"}') == 1.0
    assert prom.value('hibiki_live_entities{kind="room"}') >= 1.0
    assert prom.value("hibiki_rocksdb_memory_bytes{kind=\"block_cache\"}") is not None
    assert prom.value("process_resident_memory_bytes") > 0

    for c in senders:
        c.close()
    prom.wait_value("hibiki_websocket_connections", 0.0)


def test_health_readiness_and_bad_inputs(server):
    assert server.http("GET", "/healthz")[0] == 200
    status, body = server.http("GET", "/readyz")
    assert status == 200 and json.loads(body) == {"ready": True}, (status, body)
    status, body = server.http("GET", "/metrics")
    assert status == 200 and b"# TYPE hibiki_websocket_connections gauge" in body
    for method, path, expected in [
        ("POST", "/metrics", 405),
        ("PUT", "/readyz", 405),
        ("GET", "/metrics/../x", 400),
        ("GET", "/metrics/x", 404),
        ("GET", "/readyzz", 404),
    ]:
        assert server.http(method, path, body="x" if method != "GET" else None)[0] == expected, (
            method,
            path,
        )
    assert server.healthz() == 200  # still serving


def test_head_answers_carry_no_body(server):
    """HEAD on the health, readiness and metrics routes: the GET's status and Content-Length,
    no body. Two requests pipelined on one connection show it: were a body sent after the HEAD's
    header, it would be read as the start of the second response."""
    for path in ("/healthz", "/readyz", "/metrics"):
        with socket.create_connection((server.host, server.port), timeout=10) as s:
            s.sendall(
                f"HEAD {path} HTTP/1.1\r\nHost: x\r\n\r\n"
                f"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n".encode()
            )
            data = b""
            while chunk := s.recv(65536):
                data += chunk
        head, _, rest = data.partition(b"\r\n\r\n")
        assert head.startswith(b"HTTP/1.1 200"), (path, data[:200])
        length = int(
            next(
                line.split(b":", 1)[1]
                for line in head.split(b"\r\n")
                if line.lower().startswith(b"content-length:")
            )
        )
        assert length > 0, (path, head)
        assert rest.startswith(b"HTTP/1.1 200"), (path, rest[:200])
        assert rest.endswith(b'{"status":"ok"}'), (path, rest[-200:])


def test_metrics_off(server_factory):
    s = server_factory("--metrics=false")
    assert s.http("GET", "/metrics")[0] == 404
    assert s.http("GET", "/readyz")[0] == 200
    c = s.user("alice")
    c.ok("ping")
