"""Recovery under churn: the same scripted session against two servers, one with the defaults and
one that passivates entities all the time (--max-live-entities=2, --passivate-after=1,
--snapshot-every=3), so that almost every command finds its room or user recovered from a
snapshot plus events. Every reply, push, list, history and sync must be the same on both, and the
same again after a kill -9 and restart."""

import random
import time

import pytest

from conftest import full_history

CHURN = ("--max-live-entities=2", "--passivate-after=1", "--snapshot-every=3")


def normalize(x):
    """Drops what legitimately differs between two runs: wall-clock times."""
    if isinstance(x, dict):
        out = {}
        for k, v in x.items():
            if k == "send_time":
                continue
            if k == "update_time":
                out[k] = v > 0
            else:
                out[k] = normalize(v)
        return out
    if isinstance(x, list):
        return [normalize(v) for v in x]
    return x


def run_script(server, seed, pause):
    """A deterministic session; returns everything observable, normalized."""
    rng = random.Random(seed)
    log = []
    names = ["alice", "bob", "carol", "dave"]
    accounts = {n: server.signup(n) for n in names}
    conns = {n: server.connect(accounts[n][1]) for n in names}
    ids = {n: accounts[n][0] for n in names}
    alice = conns["alice"]
    rooms = []
    for i in range(4):
        members = [ids["bob"]] + ([ids["carol"]] if i % 2 == 0 else [])
        rooms.append(alice.ok("create_room", name=f"room{i}", members=members)["room_id"])
    log.append(("rooms", rooms))
    members = {r: {"alice", "bob"} | ({"carol"} if i % 2 == 0 else set()) for i, r in
               enumerate(rooms)}
    sent = {r: [] for r in rooms}  # (author, message_id, cmid, body)
    k = 0
    for step in range(90):
        room = rng.choice(rooms)
        x = rng.random()
        if x < 0.45 or not sent[room]:
            author = rng.choice(sorted(members[room]))
            body = f"s{step} " + (f"[To:{ids[rng.choice(names)]}]" if rng.random() < 0.4 else "")
            k += 1
            r = conns[author].request("send_message", room_id=room, body=body, client_msg_id=f"c{k}")
            if r.get("ok"):
                sent[room].append((author, r["message_id"], f"c{k}", body))
        elif x < 0.55:
            author, mid, cmid, body = rng.choice(sent[room])
            r = conns[author].request("send_message", room_id=room, body=body, client_msg_id=cmid)
        elif x < 0.65:
            author, mid, _, _ = rng.choice(sent[room])
            r = conns[author].request("edit_message", room_id=room, message_id=mid,
                                      body=f"edit {step} [To:{ids['carol']}]")
        elif x < 0.72:
            author, mid, _, _ = rng.choice(sent[room])
            r = conns[author].request("delete_message", room_id=room, message_id=mid)
        elif x < 0.85:
            reader = rng.choice(sorted(members[room]))
            _, mid, _, _ = rng.choice(sent[room])
            r = conns[reader].request("mark_read", room_id=room, message_id=mid)
        elif x < 0.92:
            if "dave" in members[room]:
                r = conns["alice"].request("remove_member", room_id=room, account_id=ids["dave"])
                members[room].discard("dave")
            else:
                role = rng.choice(["member", "readonly", "admin"])
                r = conns["alice"].request("add_members", room_id=room,
                                           account_ids=[ids["dave"]], role=role)
                members[room].add("dave")
        else:
            who = rng.choice(names)
            r = conns[who].request("list_rooms")
        r = dict(r)
        r.pop("re", None)
        log.append((step, r))
        if pause and step in (30, 60):
            time.sleep(2.5)  # past --passivate-after: everything idle is passivated
    return log, conns, ids, rooms


def snapshot(server, accounts_tokens, rooms):
    """Everything a client can read back: room lists, histories and each room's event log."""
    out = {}
    for name, token in sorted(accounts_tokens.items()):
        c = server.connect(token)
        out[(name, "rooms")] = sorted(c.ok("list_rooms")["rooms"], key=lambda x: x["room_id"])
        for room in rooms:
            r = c.request("history", room_id=room, limit=100)
            if r.get("ok"):
                out[(name, room, "history")] = full_history(c, room)
                c.take_events()
                c.ok("sync", since={str(room): 0})
                out[(name, room, "sync")] = c.events_until("synced")[:-1]
            else:
                out[(name, room, "history")] = r["error"]["code"]
    return normalize(out)


@pytest.mark.parametrize("seed", [1, 2])
def test_recovery_under_churn_matches_a_server_without_it(server_factory, seed):
    plain = server_factory()
    churn = server_factory(*CHURN)
    log_plain, conns_p, ids_p, rooms_p = run_script(plain, seed, pause=False)
    log_churn, conns_c, ids_c, rooms_c = run_script(churn, seed, pause=True)
    assert ids_p == ids_c and rooms_p == rooms_c
    lp, lc = normalize(log_plain), normalize(log_churn)
    for a, b in zip(lp, lc):
        assert a == b, f"replies differ:\nplain: {a}\nchurn: {b}"
    assert len(lp) == len(lc)
    tokens_p = {n: c.token for n, c in conns_p.items()}
    tokens_c = {n: c.token for n, c in conns_c.items()}

    # The live pushes each account received are the same too (per room, in arrival order; rooms
    # are independent streams).
    def per_room(events):
        out = {}
        for e in normalize(events):
            out.setdefault(e.get("room_id"), []).append(e)
        return out

    time.sleep(1.0)  # let the last pushes arrive
    for n in conns_p:
        assert per_room(conns_p[n].all_events) == per_room(conns_c[n].all_events), n

    expected = snapshot(plain, tokens_p, rooms_p)
    time.sleep(2.5)  # let the churn server passivate everything once more
    assert snapshot(churn, tokens_c, rooms_c) == expected
    churn.kill9()
    churn.restart()
    assert snapshot(churn, tokens_c, rooms_c) == expected
