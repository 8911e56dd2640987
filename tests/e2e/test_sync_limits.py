"""sync under attack and with huge rooms: room keys have one spelling, a request names at most
--sync-max-rooms rooms, replays are streamed in batches paced by the client's reading and capped
per room (a `gap` past --sync-max-room-bytes), pipelined syncs run one at a time. So the server's
memory stays bounded and a client that reads is never dropped; one that does not read still is."""

import json

from conftest import send_many
from test_bad_input import RawWebSocket

MIB = 1024 * 1024
# A body of 65,535 code points (the most allowed), 4 bytes each in UTF-8: about 256 KiB.
MAX_BODY = "\U0001F600" * 65535


def create_room(admin, name, members=()):
    return admin.ok("create_room", name=name, members=[m.account_id for m in members])["room_id"]


def rss_bytes(server):
    """The hibikid process's resident set size, from /proc/PID/status."""
    with open(f"/proc/{server.proc.pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS line")


def sync_events(client, rid, timeout=60):
    """The pushes after the reply to `rid`, up to and including `synced`."""
    r = client.reply(rid, timeout=timeout)
    assert r.get("ok") is True, r
    return client.events_until("synced", timeout=timeout)


def test_sync_keys_with_leading_zeros_are_refused(server):
    alice = server.user("alice")
    room = create_room(alice, "r")
    since = {"0" * zeros + str(room): 0 for zeros in range(16)}
    r = alice.fail("sync", "bad_request", since=since)
    assert "since key" in r["error"]["message"] and "leading zeros" in r["error"]["message"], r
    alice.no_event("synced", timeout=0.2)
    # Each spelling alone other than the canonical one is refused too.
    for key in ("01", "0001", "+1", "1.0", " 1"):
        alice.fail("sync", "bad_request", since={key: 0})
    # The canonical key works.
    alice.take_events()
    rid = alice.send("sync", since={str(room): 0})
    events = sync_events(alice, rid)
    assert [e["ev"] for e in events] == ["room_created", "synced"], events


def test_sync_naming_too_many_rooms_is_too_large(server_factory):
    server = server_factory("--sync-max-rooms=5")
    alice = server.user("alice")
    room = create_room(alice, "r")
    r = alice.fail("sync", "too_large", since={str(i): 0 for i in range(1, 7)})
    assert r["error"]["message"] == "sync names 6 rooms; at most 5 per request", r
    alice.take_events()
    rid = alice.send("sync", since={str(i): 0 for i in range(room, room + 5)})
    assert [e["ev"] for e in sync_events(alice, rid)] == ["room_created", "synced"]


def test_pipelined_syncs_of_a_big_room_keep_memory_bounded(server_factory):
    """The attack: a room of many large messages, and connections that pipeline syncs of it
    (every spelling of its key, then the canonical key over and over) without reading. Each
    sync used to hold the room's whole replay in memory. Now the spellings are refused, the
    syncs of one connection run one at a time, and each holds at most a batch or two."""
    batch = 256 * 1024
    max_outgoing = 4 * MIB
    server = server_factory(
        f"--sync-batch-bytes={batch}",
        f"--max-outgoing-bytes={max_outgoing}",
        "--sync-max-room-bytes=67108864",  # 64 MiB: the whole room is replayed, not a gap
    )
    alice = server.user("alice")
    room = create_room(alice, "big")
    body = "y" * 65535
    send_many(alice, room, [body] * 160, window=8)  # about 10 MiB of events

    # One honest reader syncs the room in full first: caches are warm before the baseline.
    reader = server.connect(alice.token)
    rid = reader.send("sync", since={str(room): 0})
    events = sync_events(reader, rid, timeout=120)
    assert [e["seq"] for e in events[:-1]] == list(range(1, 162))
    reader.close()
    baseline = rss_bytes(server)

    attackers = []
    connections = 6
    for _ in range(connections):
        raw = RawWebSocket(server.host, server.port)
        raw.send_text(json.dumps({"id": 1, "op": "auth", "token": alice.token}))
        assert json.loads(raw.read_frame_text())["ok"] is True
        attackers.append(raw)
    spellings = {"0" * zeros + str(room): 0 for zeros in range(16)}
    for raw in attackers:
        # From here on nobody reads these sockets.
        raw.send_text(json.dumps({"id": 2, "op": "sync", "since": spellings}))
        for i in range(3, 11):
            raw.send_text(json.dumps({"id": i, "op": "sync", "since": {str(room): 0}}))
    # The server still answers others while the attackers sit on their syncs: so it has
    # processed everything they sent, and their syncs are as far as they will get.
    probe = server.connect(alice.token)
    for _ in range(3):
        probe.ok("ping")
        rid = probe.send("sync", since={str(room): 150})
        assert [e["seq"] for e in sync_events(probe, rid)[:-1]] == list(range(151, 162))
    grown = rss_bytes(server) - baseline
    # What the caps allow per connection: its outgoing cap plus the largest frame, a batch in
    # flight plus one event; and generous room for the allocator. Holding the replays as
    # before would be room_bytes per sync: 16 spellings, and 8 syncs x 6 connections x 10 MiB.
    per_connection = max_outgoing + 2 * batch + 2 * 300 * 1024
    bound = connections * per_connection + 64 * MIB
    print(f"RSS baseline {baseline / MIB:.1f} MiB, grew {grown / MIB:.1f} MiB, bound {bound / MIB:.1f}")
    assert grown < bound, f"RSS grew by {grown / MIB:.1f} MiB (bound {bound / MIB:.1f} MiB)"
    for raw in attackers:
        raw.sock.close()
    probe.ok("ping")
    assert server.healthz() == 200


def test_a_room_of_max_size_messages_reaches_a_reading_client(server):
    """A dozen messages of 65,535 code points (about 3 MiB of events, near the 4 MiB outgoing
    cap): a client that reads gets every event (or the room's gap), and stays connected. Several
    at once too."""
    alice = server.user("alice")
    room = create_room(alice, "huge")
    # Frames of ~768 KB (json.dumps escapes each emoji as two \\u escapes): one at a time.
    sent = send_many(alice, room, [MAX_BODY] * 12, window=1)
    last = sent[-1][2]["seq"]
    assert last == 13
    readers = [server.connect(alice.token) for _ in range(3)]
    rids = [c.send("sync", since={str(room): 0}) for c in readers]
    for c, rid in zip(readers, rids):
        events = sync_events(c, rid, timeout=120)
        got = events[:-1]
        if got and got[0]["ev"] == "gap":
            assert got == [{"ev": "gap", "room_id": room, "seq": last}], got[:1]
        else:
            assert [e["seq"] for e in got] == list(range(1, last + 1))
            assert all(e["message"]["body"] == MAX_BODY for e in got[1:])
        c.ok("ping")  # still connected
        assert not c.closed
    # Over the per-room cap: the gap, nothing else of the room, and still connected.
    c = readers[0]
    second_room = create_room(alice, "huge2")
    send_many(alice, second_room, [MAX_BODY] * 20, window=1)
    c.wait_events(21, room_id=second_room)  # its live pushes, out of the way
    c.take_events()
    rid = c.send("sync", since={str(second_room): 0, str(room): 10})
    events = sync_events(c, rid, timeout=120)
    # Rooms in id order: the first room's last three events, then the second room's gap.
    assert [e["seq"] for e in events[:3]] == [11, 12, 13], events[:3]
    assert events[3:] == [{"ev": "gap", "room_id": second_room, "seq": 21}, {"ev": "synced"}]
    c.ok("ping")


def test_a_client_that_does_not_read_is_still_dropped(server):
    alice = server.user("alice")
    room = create_room(alice, "huge")
    send_many(alice, room, [MAX_BODY] * 12, window=1)
    slow = RawWebSocket(server.host, server.port)
    slow.send_text(json.dumps({"id": 1, "op": "auth", "token": alice.token}))
    assert json.loads(slow.read_frame_text())["ok"] is True
    # A sync, then history pages of about 3 MiB each: far more than the outgoing cap (4 MiB)
    # plus the socket buffers, for a client that reads nothing.
    slow.send_text(json.dumps({"id": 2, "op": "sync", "since": {str(room): 0}}))
    for i in range(3, 23):
        slow.send_text(json.dumps({"id": i, "op": "history", "room_id": room, "limit": 100}))
    # The server answers others meanwhile, so it has taken every request of the slow client.
    for _ in range(3):
        alice.ok("history", room_id=room, limit=1)
    received, closed = slow.drain_until_closed(timeout=60)
    assert closed, f"a client that did not read is still connected after {received} bytes"
    assert received < 20 * 3 * MIB
    alice.ok("ping")
    assert server.healthz() == 200
