"""hibikid's object stores from outside: the directory store's /files/ URLs checked against URLs
signed by botocore (a SigV4 signer nobody here wrote) with the data directory's signing key, and
hibikid started on the S3 store of the `minio` CTest fixture, with its credentials kept out of the
command line and the logs.
"""
import datetime
import http.client
import os
import subprocess
from urllib.parse import quote

import botocore.auth
import botocore.awsrequest
import botocore.credentials
import pytest

from conftest import stdout_match

MINIO_DIR = os.environ.get("HIBIKI_TEST_MINIO_DIR")


def directory_store_url(server, method, key, headers=None, params="", expires=900, when=None):
    """A URL for the directory store signed by botocore with the data dir's key."""
    with open(os.path.join(server.data_dir, "files", ".signing-key")) as f:
        secret = f.read().strip()
    signer = botocore.auth.S3SigV4QueryAuth(
        botocore.credentials.Credentials("hibiki-local", secret), "s3", "local", expires=expires)
    url = f"http://127.0.0.1:{server.port}/files/{key}" + (f"?{params}" if params else "")
    request = botocore.awsrequest.AWSRequest(method=method, url=url, headers=headers or {})
    if when is None:
        signer.add_auth(request)
    else:
        # botocore reads the clock itself; a URL signed in the past is made by freezing it.
        import types

        class Frozen(datetime.datetime):
            @classmethod
            def utcnow(cls):
                return when

            @classmethod
            def now(cls, tz=None):
                return when if tz is None else when.replace(tzinfo=tz)

        saved = botocore.auth.datetime, getattr(botocore.auth, "get_current_datetime", None)
        botocore.auth.datetime = types.SimpleNamespace(datetime=Frozen, timezone=datetime.timezone)
        if saved[1] is not None:
            botocore.auth.get_current_datetime = lambda *a, **k: when
        try:
            signer.add_auth(request)
        finally:
            botocore.auth.datetime = saved[0]
            if saved[1] is not None:
                botocore.auth.get_current_datetime = saved[1]
    return request.url[request.url.index("/files/"):]


def call(server, method, target, body=None, headers=None):
    conn = http.client.HTTPConnection("127.0.0.1", server.port, timeout=30)
    try:
        conn.request(method, target, body=body, headers=headers or {})
        resp = conn.getresponse()
        return resp.status, dict((k.lower(), v) for k, v in resp.getheaders()), resp.read()
    finally:
        conn.close()


def test_directory_store_accepts_urls_signed_by_botocore(server):
    stdout_match(server, r"files in directory .*/files")
    body = os.urandom(200_000)
    headers = {"Content-Type": "application/octet-stream", "Content-Length": str(len(body))}
    put = directory_store_url(server, "PUT", "rooms/1/a", headers)
    status, _, answer = call(server, "PUT", put, body, headers)
    assert status == 200, answer

    disposition = "attachment; filename*=UTF-8''%E5%A0%B1%E5%91%8A.bin"
    get = directory_store_url(server, "GET", "rooms/1/a",
                              params="response-content-disposition=" + quote(disposition, safe=""))
    status, got_headers, got = call(server, "GET", get)
    assert status == 200
    assert got == body
    assert got_headers["content-disposition"] == disposition
    assert got_headers["content-length"] == str(len(body))


def test_directory_store_refuses_bad_urls_and_keeps_serving(server):
    body = b"0123456789"
    headers = {"Content-Type": "text/plain", "Content-Length": "10"}
    put = directory_store_url(server, "PUT", "k", headers)
    # Tampered signature, another key, another type: 403, nothing stored.
    tampered = put[:-1] + ("0" if put[-1] != "0" else "1")
    assert call(server, "PUT", tampered, body, headers)[0] == 403
    assert call(server, "PUT", put.replace("/files/k?", "/files/k2?"), body, headers)[0] == 403
    assert call(server, "PUT", put, body, dict(headers, **{"Content-Type": "text/html"}))[0] == 403
    # Expired: signed two hours ago for one.
    old = directory_store_url(server, "PUT", "k", headers, expires=3600,
                              when=datetime.datetime.utcnow() - datetime.timedelta(hours=2))
    status, _, answer = call(server, "PUT", old, body, headers)
    assert status == 403 and b"expired" in answer
    # Path traversal and a key that is not one: 400.
    query = put[put.index("?"):]
    assert call(server, "PUT", "/files/../../etc/passwd" + query, body, headers)[0] == 400
    assert call(server, "PUT", "/files/a%2F..%2F..%2Fx" + query, body, headers)[0] == 400
    # Signed by someone else (another secret).
    signer = botocore.auth.S3SigV4QueryAuth(
        botocore.credentials.Credentials("hibiki-local", "not-the-key"), "s3", "local", expires=60)
    request = botocore.awsrequest.AWSRequest(
        method="PUT", url=f"http://127.0.0.1:{server.port}/files/k", headers=headers)
    signer.add_auth(request)
    foreign = request.url[request.url.index("/files/"):]
    assert call(server, "PUT", foreign, body, headers)[0] == 403
    get = directory_store_url(server, "GET", "k")
    assert call(server, "GET", get)[0] == 404
    assert server.healthz() == 200


def test_s3_store_without_credentials_is_a_usage_error(hibikid_binary, tmp_path):
    env = {k: v for k, v in os.environ.items() if not k.startswith("HIBIKI_S3_")}
    proc = subprocess.run(
        [hibikid_binary, "--http=127.0.0.1:0", f"--data-dir={tmp_path}",
         "--s3-endpoint=http://127.0.0.1:9"],
        env=env, capture_output=True, text=True, timeout=60)
    assert proc.returncode == 2
    assert "HIBIKI_S3_ACCESS_KEY" in proc.stderr
    # A secret on the command line is not an option at all.
    proc = subprocess.run([hibikid_binary, "--s3-secret-key=x"], capture_output=True, text=True,
                          timeout=60)
    assert proc.returncode == 2


@pytest.mark.skipif(MINIO_DIR is None, reason="run by CTest with the minio fixture")
def test_hibikid_on_minio_keeps_the_secret_out_of_argv_and_logs(server_factory):
    endpoint = open(os.path.join(MINIO_DIR, "endpoint")).read().strip()
    bucket = open(os.path.join(MINIO_DIR, "bucket")).read().strip()
    credentials = os.path.join(MINIO_DIR, "credentials")
    secret = [line.split("=", 1)[1].strip() for line in open(credentials)
              if line.startswith("secret_key")][0]
    server = server_factory(f"--s3-endpoint={endpoint}", f"--s3-bucket={bucket}",
                            f"--s3-credentials-file={credentials}", "--log-level=debug")
    stdout_match(server, r"files in S3 bucket " + bucket + " at " + endpoint)
    with open(f"/proc/{server.proc.pid}/cmdline", "rb") as f:
        assert secret.encode() not in f.read()
    server.stop()
    logs = open(server.stderr_path, "rb").read() + "\n".join(server.stdout_lines).encode()
    for root, _, files in os.walk(server.log_dir):
        for name in files:
            logs += open(os.path.join(root, name), "rb").read()
    assert secret.encode() not in logs
