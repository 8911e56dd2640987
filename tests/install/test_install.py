"""`cmake --install` into a temporary prefix, and the installed hibikid run from there.

The build directory comes from HIBIKI_BUILD_DIR (CTest sets it), the expected version from
HIBIKI_VERSION (CMake's project VERSION).
"""

import http.client
import os
import re
import shutil
import signal
import socket
import subprocess
import tempfile
import threading
import time

import pytest

BUILD = os.environ.get("HIBIKI_BUILD_DIR")
VERSION = os.environ.get("HIBIKI_VERSION")
SOURCE = os.path.abspath(os.path.join(os.path.dirname(__file__), "..", ".."))
SERVING_RE = re.compile(r"hibikid: serving http://([^\s:/]+):(\d+)")


@pytest.fixture(scope="module")
def prefix():
    assert BUILD, "HIBIKI_BUILD_DIR is not set"
    d = tempfile.mkdtemp(prefix="hibiki-install-")
    try:
        r = subprocess.run(["cmake", "--install", BUILD, "--prefix", d], capture_output=True,
                           text=True, timeout=120)
        assert r.returncode == 0, r.stdout + r.stderr
        yield d
    finally:
        shutil.rmtree(d, ignore_errors=True)


def test_the_install_tree_has_every_file(prefix):
    for rel in ("bin/hibikid", "bin/hibiki"):
        path = os.path.join(prefix, rel)
        assert os.path.isfile(path) and os.access(path, os.X_OK), rel
    web = os.path.join(prefix, "share", "hibiki", "web")
    for name in ("index.html", "app.js", "style.css"):
        with open(os.path.join(SOURCE, "web", name), "rb") as src, \
                open(os.path.join(web, name), "rb") as dst:
            assert src.read() == dst.read(), name
    assert not os.path.exists(os.path.join(web, "README.md"))
    assert os.path.isfile(os.path.join(prefix, "etc", "hibiki", "hibikid.conf.example"))
    unit = os.path.join(prefix, "lib", "systemd", "system", "hibikid.service")
    with open(unit) as f:
        text = f.read()
    # The unit names the installed binary, for the prefix given at install time.
    assert f"ExecStart={prefix}/bin/hibikid " in text
    assert not re.search(r"@[A-Z_]+@", text), "an unsubstituted @VAR@ is left in the unit"
    for directive in ("Type=notify", "DynamicUser=yes", "StateDirectory=hibiki",
                      "ProtectSystem=strict", "NoNewPrivileges=yes", "PrivateTmp=yes",
                      "ProtectHome=yes", "CapabilityBoundingSet=\n",
                      "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX",
                      "SystemCallFilter=@system-service"):
        assert directive in text, directive


def test_both_programs_print_the_same_version(prefix):
    assert VERSION, "HIBIKI_VERSION is not set"
    for prog in ("hibikid", "hibiki"):
        r = subprocess.run([os.path.join(prefix, "bin", prog), "--version"], capture_output=True,
                           text=True, timeout=30)
        assert r.returncode == 0, r.stderr
        assert r.stdout.strip() == f"{prog} {VERSION}"


class NotifySocket:
    """A fake systemd notification socket: a unix datagram socket collecting what it receives."""

    def __init__(self, path):
        self.path = path
        self.sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self.sock.bind(path)
        self.sock.settimeout(0.2)
        self.messages = []
        self._stop = False
        self._cv = threading.Condition()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self):
        while not self._stop:
            try:
                data = self.sock.recv(4096)
            except socket.timeout:
                continue
            except OSError:
                return
            with self._cv:
                self.messages.append(data.decode("utf-8", "replace"))
                self._cv.notify_all()

    def wait_for(self, line, timeout=30):
        deadline = time.monotonic() + timeout
        with self._cv:
            while not any(line in m.split("\n") for m in self.messages):
                left = deadline - time.monotonic()
                if left <= 0:
                    raise AssertionError(f"no {line!r} on NOTIFY_SOCKET; got {self.messages!r}")
                self._cv.wait(left)

    def close(self):
        self._stop = True
        self._thread.join(5)
        self.sock.close()


def test_the_installed_hibikid_serves_the_installed_web_root_and_notifies(prefix, tmp_path):
    """Run with the example config, a fake NOTIFY_SOCKET, from a directory that is not the
    source tree."""
    notify = NotifySocket(str(tmp_path / "notify.sock"))
    env = dict(os.environ, NOTIFY_SOCKET=notify.path)
    # The example config as shipped must be accepted (its flags are overridden where a test
    # needs a free port and its own data dir: flags win over the file).
    conf = os.path.join(prefix, "etc", "hibiki", "hibikid.conf.example")
    proc = subprocess.Popen(
        [os.path.join(prefix, "bin", "hibikid"), f"--config={conf}", "--http=127.0.0.1:0",
         f"--data-dir={tmp_path / 'data'}"],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, stdin=subprocess.DEVNULL, env=env,
        cwd=str(tmp_path))  # not the source tree: the web root must come from the prefix
    try:
        host = port = None
        deadline = time.monotonic() + 30
        lines = []
        while time.monotonic() < deadline:
            line = proc.stdout.readline().decode("utf-8", "replace")
            if not line:
                break
            lines.append(line)
            m = SERVING_RE.search(line)
            if m:
                host, port = m.group(1), int(m.group(2))
                break
        assert port, f"no serving line: {lines!r} {proc.stderr.read(2000) if proc.poll() else ''}"
        notify.wait_for("READY=1")

        conn = http.client.HTTPConnection(host, port, timeout=15)
        conn.request("GET", "/")
        res = conn.getresponse()
        body = res.read()
        assert res.status == 200
        with open(os.path.join(prefix, "share", "hibiki", "web", "index.html"), "rb") as f:
            assert body == f.read()
        conn.request("GET", "/healthz")
        res = conn.getresponse()
        assert res.status == 200 and b'"ok"' in res.read()
        conn.close()

        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
        notify.wait_for("STOPPING=1")
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
        notify.close()


def test_the_web_root_is_the_installed_one_even_if_the_source_tree_is_gone(prefix, tmp_path):
    # Proof the compiled-in source path is not what the installed binary uses: a copy of the
    # prefix elsewhere, with its own index.html, serves that file.
    copy = tmp_path / "elsewhere"
    shutil.copytree(prefix, copy, symlinks=True)
    marker = b"<!doctype html><title>installed copy</title>"
    (copy / "share" / "hibiki" / "web" / "index.html").write_bytes(marker)
    proc = subprocess.Popen(
        [str(copy / "bin" / "hibikid"), "--http=127.0.0.1:0", f"--data-dir={tmp_path / 'd2'}"],
        stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, stdin=subprocess.DEVNULL,
        cwd=str(tmp_path))
    try:
        port = None
        for _ in range(50):
            line = proc.stdout.readline().decode("utf-8", "replace")
            m = SERVING_RE.search(line)
            if m:
                port = int(m.group(2))
                break
            if not line:
                break
        assert port
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
        conn.request("GET", "/")
        res = conn.getresponse()
        assert res.status == 200 and res.read() == marker
        conn.close()
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(10)
