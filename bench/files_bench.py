#!/usr/bin/python3
"""The byte-moving half of bench/files_bench.sh, against a running hibikid on S3 (MinIO):

  large     one LARGE_MIB file PUT through a URL hibikid signed, against the same PUT done by curl
            straight to MinIO with MinIO's own credentials (curl --aws-sigv4); RUNS of each, in
            turn; the median times and their ratio
  parallel  PARALLEL uploads of PARALLEL_MIB each at once (request_upload, curl PUT, then
            complete_upload), with hibikid's CPU time (utime+stime) and memory (VmRSS sampled
            every 50 ms, VmHWM) over the whole of it

Both PUTs are done by the same curl binary from the same file, so the only difference is who
signed the URL. Prints a line per figure and one JSON line at the end.

usage: files_bench.py PORT PID ENDPOINT BUCKET CREDENTIALS WORK_DIR
environment: PARTS_PY ("large parallel"), LARGE_MIB (1024), RUNS (3), PARALLEL (100), PARALLEL_MIB (10)
"""

import asyncio
import json
import os
import statistics
import subprocess
import sys
import threading
import time
import urllib.request

import websockets

MIB = 1024 * 1024
CTYPE = "application/octet-stream"


def signup(port, name):
    req = urllib.request.Request(f"http://127.0.0.1:{port}/api/signup",
                                 data=json.dumps({"name": name}).encode(),
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req, timeout=30) as r:
        return json.loads(r.read())["token"]


class Ws:
    """One authenticated WebSocket; requests may be in flight together (matched by id)."""

    async def open(self, port, token):
        self.ws = await websockets.connect(f"ws://127.0.0.1:{port}/ws", max_size=None)
        self.next_id = 0
        self.waiting = {}
        self.reader = asyncio.ensure_future(self._read())
        r = await self.call("auth", token=token)
        assert r["ok"], r
        return self

    async def _read(self):
        async for text in self.ws:
            msg = json.loads(text)
            fut = self.waiting.pop(msg.get("re"), None)
            if fut is not None:
                fut.set_result(msg)

    async def call(self, op, **fields):
        self.next_id += 1
        fut = asyncio.get_running_loop().create_future()
        self.waiting[self.next_id] = fut
        await self.ws.send(json.dumps({"id": self.next_id, "op": op, **fields}))
        return await asyncio.wait_for(fut, 120)

    async def ok(self, op, **fields):
        r = await self.call(op, **fields)
        assert r.get("ok"), (op, r)
        return r


def make_file(path, size):
    with open(path, "wb") as f:
        for _ in range(size // MIB):
            f.write(os.urandom(MIB))


def curl_put(url, path, extra=()):
    """curl PUT of the file; returns its seconds (curl's own time_total)."""
    out = subprocess.run(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code} %{time_total}",
                          "-X", "PUT", "-T", path, "-H", f"Content-Type: {CTYPE}", *extra, url],
                         check=True, capture_output=True, text=True)
    code, seconds = out.stdout.split()
    assert code == "200", (code, out.stderr)
    return float(seconds)


def credentials(path):
    values = dict((k.strip(), v.strip()) for k, v in
                  (line.split("=", 1) for line in open(path) if "=" in line))
    return values["access_key"], values["secret_key"]


def proc_cpu(pid):
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def proc_mem(pid):
    out = {}
    for line in open(f"/proc/{pid}/status"):
        if line.startswith(("VmRSS", "VmHWM")):
            k, v = line.split(":")
            out[k] = int(v.split()[0]) * 1024
    return out


async def large(port, endpoint, bucket, creds, work, size_mib, runs):
    path = os.path.join(work, "large.bin")
    make_file(path, size_mib * MIB)
    ws = await Ws().open(port, signup(port, "large"))
    room = (await ws.ok("create_room", name="large", members=[]))["room_id"]
    access, secret = creds
    signed, direct = [], []
    for i in range(runs):
        up = await ws.ok("request_upload", room_id=room, filename="large.bin",
                         size=size_mib * MIB, content_type=CTYPE)
        signed.append(curl_put(up["upload_url"], path))
        await ws.ok("complete_upload", room_id=room, file_id=up["file_id"])
        direct.append(curl_put(f"{endpoint}/{bucket}/direct/large-{i}", path,
                               ["--aws-sigv4", "aws:amz:us-east-1:s3", "--user",
                                f"{access}:{secret}"]))
        print(f"  run {i + 1}: pre-signed {signed[-1]:.2f} s, direct {direct[-1]:.2f} s",
              flush=True)
    os.remove(path)
    s, d = statistics.median(signed), statistics.median(direct)
    mb = size_mib * MIB / 1e6
    print(f"large upload {size_mib} MiB: pre-signed median {s:.2f} s ({mb / s:.0f} MB/s), "
          f"direct curl --aws-sigv4 median {d:.2f} s ({mb / d:.0f} MB/s), ratio {s / d:.3f}")
    return {"large_mib": size_mib, "runs": runs, "presigned_s": signed, "direct_s": direct,
            "presigned_median_s": s, "direct_median_s": d, "ratio": s / d}


async def parallel(port, pid, work, count, size_mib):
    path = os.path.join(work, "part.bin")
    make_file(path, size_mib * MIB)
    ws = await Ws().open(port, signup(port, "parallel"))
    room = (await ws.ok("create_room", name="parallel", members=[]))["room_id"]

    peak = {"rss": 0}
    stop = threading.Event()

    def sample():
        while not stop.is_set():
            peak["rss"] = max(peak["rss"], proc_mem(pid)["VmRSS"])
            time.sleep(0.05)

    sampler = threading.Thread(target=sample)
    mem0, cpu0, t0 = proc_mem(pid), proc_cpu(pid), time.monotonic()
    sampler.start()
    ups = await asyncio.gather(*(ws.ok("request_upload", room_id=room, filename=f"p{i}.bin",
                                       size=size_mib * MIB, content_type=CTYPE)
                                 for i in range(count)))
    t_signed = time.monotonic()
    puts = [subprocess.Popen(["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "-X", "PUT",
                              "-T", path, "-H", f"Content-Type: {CTYPE}", u["upload_url"]],
                             stdout=subprocess.PIPE, text=True) for u in ups]
    codes = [p.communicate()[0] for p in puts]
    assert codes == ["200"] * count, codes
    t_put = time.monotonic()
    await asyncio.gather(*(ws.ok("complete_upload", room_id=room, file_id=u["file_id"])
                           for u in ups))
    t1, cpu1 = time.monotonic(), proc_cpu(pid)
    stop.set()
    sampler.join()
    mem1 = proc_mem(pid)
    os.remove(path)
    files = (await ws.ok("list_files", room_id=room))["files"]
    assert len(files) == count and all(f["size"] == size_mib * MIB for f in files)
    cpu = cpu1 - cpu0
    print(f"{count} parallel uploads of {size_mib} MiB: {t1 - t0:.2f} s in all (signing "
          f"{t_signed - t0:.3f} s, PUTs {t_put - t_signed:.2f} s = "
          f"{count * size_mib * MIB / 1e6 / (t_put - t_signed):.0f} MB/s into MinIO, completing "
          f"{t1 - t_put:.3f} s); hibikid CPU {cpu * 1000:.0f} ms "
          f"({cpu * 1000 / count:.2f} ms per upload, {cpu / (t1 - t0) * 100:.1f}% of one core "
          f"over the run); VmRSS {mem0['VmRSS'] / MIB:.1f} MiB before, peak "
          f"{peak['rss'] / MIB:.1f} MiB, {mem1['VmRSS'] / MIB:.1f} MiB after; VmHWM "
          f"{mem0['VmHWM'] / MIB:.1f} -> {mem1['VmHWM'] / MIB:.1f} MiB")
    return {"parallel": count, "parallel_mib": size_mib, "wall_s": t1 - t0,
            "sign_s": t_signed - t0, "put_s": t_put - t_signed, "complete_s": t1 - t_put,
            "cpu_s": cpu, "rss_before": mem0["VmRSS"], "rss_peak": peak["rss"],
            "rss_after": mem1["VmRSS"], "hwm_before": mem0["VmHWM"], "hwm_after": mem1["VmHWM"]}


async def main():
    port, pid, endpoint, bucket, creds_file, work = sys.argv[1:7]
    pid = int(pid)
    parts = os.environ.get("PARTS_PY", "large parallel").split()
    result = {}
    if "large" in parts:
        result.update(await large(port, endpoint, bucket, credentials(creds_file), work,
                                  int(os.environ.get("LARGE_MIB", "1024")),
                                  int(os.environ.get("RUNS", "3"))))
    if "parallel" in parts:
        result.update(await parallel(port, pid, work, int(os.environ.get("PARALLEL", "100")),
                                     int(os.environ.get("PARALLEL_MIB", "10"))))
    print(json.dumps(result))


asyncio.run(main())
