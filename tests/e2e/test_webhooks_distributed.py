"""Webhooks beyond one node on the embedded journal, on the shared test broker (the `kafka`
fixture), with the Python receiver of test_webhooks.py on loopback.

  - test_delivered_on_the_kafka_journal: one hibikid on the Kafka journal; a message_created
    delivery arrives and its signature verifies.
  - test_hand_over_across_three_nodes: three nodes on one topic. A webhook in a room, messages
    sent through a node that does not own the room: each delivered once, in order (by the owner).
    Then the owner is killed with SIGKILL and another node takes the room's partition: later
    messages are delivered, and none delivered before the kill is delivered again.

What the hand-over test asserts, precisely: before the kill it waits until every message was
delivered AND the owner's `webhooks` projection shows its position at the partition's end (the
position reaches the status only after it was given to the shared store, the consumer group
"hibiki-projection-webhooks-<topic>"; a failure to store would be logged, and the log is checked).
So nothing was in flight at the kill, and at-least-once allows no repeat of those events: each
pre-kill message must arrive exactly once in total. Deliveries of one (room, webhook) are made in
feed order, so once the messages sent after the hand-over arrived, a repeat of an earlier event
by the new owner would have arrived before them: the check needs no waiting time. Without shared
positions the new owner would start the partition from its own (older) position and deliver the
pre-kill messages again, failing the test.
"""

import json
import uuid

import pytest

# `bootstrap` is a fixture (the shared broker's address), used by name.
from test_chatwork_distributed import cluster_place, ok_retrying
from test_cluster import (NODES, REPLY_TIMEOUT, Cluster, bootstrap,  # noqa: F401
                          check_murmur2, connect, partition_of, signup, started, wait_until)
from test_webhooks import FAST, Receiver, verify, wait_deliveries

HAND_OVER_TIMEOUT = 180.0


@pytest.fixture
def receiver():
    r = Receiver()
    yield r
    r.stop()


def message_ids(receiver):
    return [b["webhook_event"]["message_id"] for b in receiver.bodies()
            if b["webhook_event_type"] == "message_created"]


def test_delivered_on_the_kafka_journal(bootstrap, server_factory, receiver):  # noqa: F811
    topic = f"hibiki.webhooks.{uuid.uuid4().hex[:8]}"
    server = server_factory("--journal=kafka", f"--kafka-brokers={bootstrap}",
                            f"--kafka-topic={topic}", "--kafka-partitions=4", *FAST)
    alice, bob = server.user("alice"), server.user("bob")
    room = alice.ok("create_room", name="hooks", members=[bob.account_id])["room_id"]
    token = alice.ok("create_webhook", room_id=room, url=receiver.url(),
                     events=["message_created"])["token"]
    sent = alice.ok("send_message", room_id=room, body="on kafka", client_msg_id="k1")
    got = wait_deliveries(receiver, 1)
    assert len(got) == 1, got
    assert got[0]["webhook_event_type"] == "message_created"
    assert got[0]["webhook_event"]["message_id"] == sent["message_id"]
    assert got[0]["webhook_event"]["body"] == "on kafka"
    (_, headers, raw) = receiver.deliveries[0]
    assert verify(token, headers, raw), "signature does not verify"
    # A bad input on this journal too: an unknown event name, refused; the server goes on.
    r = alice.request("create_webhook", room_id=room, url=receiver.url(), events=["nope"])
    assert r.get("ok") is False and r["error"]["code"] == "bad_request", r
    alice.ok("ping")


@pytest.fixture
def cluster(hibikid_binary, tmp_path, bootstrap):  # noqa: F811
    check_murmur2()
    topic = f"hibiki.cluster.webhooks.{uuid.uuid4().hex[:8]}"
    c = Cluster(hibikid_binary, tmp_path, bootstrap, topic)
    for n in c.nodes.values():
        n.security.extend(FAST)
    yield from started(c)


def webhooks_status(node):
    status, body = node.operator_http("GET", "/api/projections", timeout=30)
    assert status == 200, (node.name, status, body[:300])
    for p in json.loads(body)["projections"]:
        if p["name"] == "webhooks":
            return p
    raise AssertionError(f"{node.name} runs no webhooks projection: {body[:300]}")


def caught_up(node, partition):
    p = webhooks_status(node)
    at = p["positions"].get(str(partition))
    end = p["end_positions"].get(str(partition))
    return at is not None and end is not None and at >= end


def log_of(node):
    with open(node.stderr_path, "rb") as f:
        return f.read().decode("utf-8", "replace")


def test_hand_over_across_three_nodes(cluster, receiver):
    place = cluster_place(cluster, NODES)
    account, token = signup(cluster, "alice")
    bob, _ = signup(cluster, "bob")
    # The room's owner is known once it exists; alice talks through a node that does not own it.
    first = connect(cluster.nodes[NODES[0]], token)
    room = first.ok("create_room", name="hooks", members=[bob], timeout=REPLY_TIMEOUT)["room_id"]
    entity = f"room-{room}"
    owner = place.owner(entity)
    partition = partition_of(entity)
    away = [n for n in NODES if n != owner]
    alice = connect(cluster.nodes[away[0]], token)
    r = alice.request("create_webhook", room_id=room, url=receiver.url(),
                      events=["message_created"], timeout=REPLY_TIMEOUT)
    assert r.get("ok") is True, r
    hook_token = r["token"]

    before = []
    for i in range(5):
        r = ok_retrying(alice, "send_message", room_id=room, body=f"before {i}",
                        client_msg_id=f"before-{i}")
        before.append(r["message_id"])
    wait_deliveries(receiver, 5, timeout=HAND_OVER_TIMEOUT)
    assert message_ids(receiver) == before, "each once, in order"
    for (_, headers, raw) in receiver.deliveries:
        assert verify(hook_token, headers, raw)
    # Nothing in flight: the owner's position passed every event of the partition, and (it is
    # published after the shared store was told) the group has it.
    wait_until(lambda: caught_up(cluster.nodes[owner], partition), HAND_OVER_TIMEOUT,
               f"{owner}'s webhooks projection at the end of partition {partition}")
    assert "cannot store the shared feed positions" not in log_of(cluster.nodes[owner])

    # The owner dies; a survivor takes the partition.
    cluster.nodes[owner].kill9()
    after = cluster_place(cluster, away)
    new_owner = after.owner(entity)
    assert new_owner in away
    survivor = connect(cluster.nodes[away[1] if away[1] != new_owner else away[0]], token)
    later = []
    for i in range(3):
        r = ok_retrying(survivor, "send_message", room_id=room, body=f"after {i}",
                        client_msg_id=f"after-{i}")
        later.append(r["message_id"])
    wait_until(lambda: set(later) <= set(message_ids(receiver)), HAND_OVER_TIMEOUT,
               "the messages sent after the hand-over delivered")
    ids = message_ids(receiver)
    # Every message at least once; the pre-kill ones (none in flight) exactly once.
    for m in before:
        assert ids.count(m) == 1, (m, ids)
    for m in later:
        assert ids.count(m) >= 1, (m, ids)
    # The later ones in their order (a repeat allowed by at-least-once would be adjacent).
    firsts = [ids.index(m) for m in later]
    assert firsts == sorted(firsts), ids
    assert min(firsts) > max(ids.index(m) for m in before), ids
