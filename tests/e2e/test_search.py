"""Full-text search (docs/protocol.md, "search") through a real hibikid: the `search` op and
GET /v2/search over the index the node keeps as a projection of the journal. Japanese without
spaces, stemming, notation, filters, order and paging, edits and deletes, membership now (a
non-member and a removed member find nothing of the room), every bad input (empty, 10 KB,
operators, invalid UTF-8, bad fields) with the server still serving, and the index deleted and
built again from the journal with the same answers. With HIBIKI_TEST_KAFKA_FILE set (ctest's
`kafka` fixture) the same runs on the Kafka journal (the `kafka` tests)."""

import os
import shutil
import urllib.parse
import uuid

import pytest

from conftest import MESSAGE_FIELDS, send_many, wait_for
from test_cluster import bootstrap, cluster  # noqa: F401 (fixtures of the cluster test)
from test_rest import Rest

SEARCH_TIMEOUT = 60  # the index follows the journal a little behind: answers are waited for


def kafka_flags():
    path = os.environ.get("HIBIKI_TEST_KAFKA_FILE")
    if not path:
        pytest.fail("HIBIKI_TEST_KAFKA_FILE is not set: run through ctest (the `kafka` fixture), "
                    "or `scripts/test-kafka start DIR` and set it to DIR/bootstrap")
    with open(path) as f:
        bootstrap = f.read().strip()
    return ["--journal=kafka", f"--kafka-brokers={bootstrap}",
            f"--kafka-topic=search-{uuid.uuid4().hex[:12]}", "--kafka-partitions=3"]


@pytest.fixture(params=["rocksdb", "kafka"])
def journal(request):
    return request.param


@pytest.fixture
def make_server(server_factory, journal):
    def make(*extra, data_dir=None):
        flags = kafka_flags() if journal == "kafka" else []
        return server_factory(*flags, *extra, data_dir=data_dir)
    return make


def search(client, **fields):
    return client.ok("search", **fields)


def found(client, q, **fields):
    """(room_id, message_id) of every result, in order."""
    r = search(client, q=q, **fields)
    return [(x["room_id"], x["message"]["message_id"]) for x in r["results"]]


def wait_found(client, q, expected, **fields):
    """Waits until searching `q` answers exactly `expected`, and counts exactly those (the index
    catches up; until it has applied a delete, the reply leaves out the deleted message while
    `total` still counts it)."""
    last = []

    def check():
        r = search(client, q=q, **fields)
        last[:] = [[(x["room_id"], x["message"]["message_id"]) for x in r["results"]],
                   r["total"]]
        return last[0] == expected and r["total"] == len(expected)
    wait_for(check, f"search {q!r} {fields!r} to find {expected!r} (last: {last!r})",
             timeout=SEARCH_TIMEOUT)


def post(client, room, body):
    return client.ok("send_message", room_id=room, body=body,
                     client_msg_id=uuid.uuid4().hex)["message_id"]


def setup_people(server):
    alice = server.user("alice")
    bob = server.user("bob")
    carol = server.user("carol")
    room = alice.ok("create_room", name="team", members=[bob.account_id])["room_id"]
    other = carol.ok("create_room", name="carol's", members=[])["room_id"]
    return alice, bob, carol, room, other


def test_search_finds_japanese_stems_and_answers_message_objects(make_server):
    server = make_server()
    alice, bob, carol, room, other = setup_people(server)
    tokyo = post(alice, room, "明日は東京都庁で会議があります")
    runners = post(bob, room, "The runners were running late")
    notation = post(alice, room, f"[To:{bob.account_id}]Bob [info][title]Plan[/title]deploy "
                                 "<b>tonight</b> & after[/info]")
    carols = post(carol, other, "東京 in carol's own room")

    # The feed is in order: once the last message is found, all before it are indexed.
    wait_found(carol, "東京", [(other, carols)])
    assert found(alice, "東京") == [(room, tokyo)]
    assert found(alice, "都庁") == [(room, tokyo)]
    assert found(bob, "東京都庁") == [(room, tokyo)]
    assert found(alice, "run") == [(room, runners)]  # stemmed (english is the default)
    assert found(alice, "info") == []                 # notation is not indexed
    assert found(alice, "title") == []
    assert found(alice, "deploy") == [(room, notation)]

    # The reply's shape: total, results with the message object history gives.
    r = search(alice, q="東京")
    assert set(r) == {"re", "ok", "total", "results"}
    assert r["total"] == 1
    hit = r["results"][0]
    assert set(hit) == {"room_id", "message", "snippet"}
    assert set(hit["message"]) == MESSAGE_FIELDS
    assert hit["message"] == alice.ok("get_message", room_id=room, message_id=tokyo)["message"]
    assert "<mark>" in hit["snippet"] and "</mark>" in hit["snippet"]
    # The snippet is HTML-escaped around its markers: the body's tags are text.
    snippet = search(alice, q="tonight")["results"][0]["snippet"]
    assert "<b>" not in snippet and "&lt;b&gt;" in snippet and "&amp;" in snippet
    assert "<mark>tonight</mark>" in snippet

    # REST: the same parameters, the same list.
    rest = Rest(server, alice.token)
    body = rest.ok("GET", "/search", query={"q": "東京"})
    assert body == {"total": r["total"], "results": r["results"]}
    body = rest.ok("GET", "/search", query={"q": "run", "room_id": room, "limit": 5,
                                            "order": "relevance"})
    assert [x["message"]["message_id"] for x in body["results"]] == [runners]


def test_filters_order_and_paging(make_server):
    server = make_server()
    alice, bob, carol, room, other = setup_people(server)
    second = alice.ok("create_room", name="second", members=[bob.account_id])["room_id"]
    ids = [post(alice if i % 2 == 0 else bob, room, f"status report number {i}") for i in range(12)]
    elsewhere = post(alice, second, "status report elsewhere with more status words status")
    wait_found(alice, "elsewhere", [(second, elsewhere)])

    newest = found(alice, "status", limit=100)
    assert len(newest) == 13 and newest[0] == (second, elsewhere)
    assert [m for _, m in newest[1:]] == list(reversed(ids))
    # Relevance: the message with "status" three times comes first.
    assert found(alice, "status", order="relevance")[0] == (second, elsewhere)
    # Room and author filters.
    assert [m for _, m in found(alice, "status", room_id=room, limit=100)] == list(reversed(ids))
    by_bob = found(alice, "status", account_id=bob.account_id, limit=100)
    assert [m for _, m in by_bob] == list(reversed(ids[1::2]))
    # Paging: limit and offset, total over all pages.
    page1 = search(alice, q="status", room_id=room, limit=5)
    page2 = search(alice, q="status", room_id=room, limit=5, offset=5)
    page3 = search(alice, q="status", room_id=room, limit=5, offset=10)
    assert page1["total"] == page2["total"] == page3["total"] == 12
    pages = [x["message"]["message_id"] for p in (page1, page2, page3) for x in p["results"]]
    assert pages == list(reversed(ids))
    assert search(alice, q="status", room_id=room, offset=50)["results"] == []
    # Time: strictly after / strictly before a message's send time.
    t = alice.ok("get_message", room_id=second, message_id=elsewhere)["message"]["send_time"]
    assert found(alice, "elsewhere", after_time=t - 1) == [(second, elsewhere)]
    assert found(alice, "elsewhere", after_time=t) == []
    assert found(alice, "elsewhere", before_time=t + 1) == [(second, elsewhere)]
    assert found(alice, "elsewhere", before_time=t) == []


def test_edits_reindex_deletes_remove_and_a_deleted_room_disappears(make_server):
    server = make_server()
    alice, bob, carol, room, other = setup_people(server)
    m = post(alice, room, "apple pie for lunch")
    gone = post(alice, room, "apple juice")
    wait_found(alice, "apple", [(room, gone), (room, m)])
    alice.ok("edit_message", room_id=room, message_id=m, body="banana bread for lunch")
    alice.ok("delete_message", room_id=room, message_id=gone)
    wait_found(alice, "apple", [])
    wait_found(alice, "banana", [(room, m)])
    hit = search(alice, q="banana")["results"][0]
    assert hit["message"]["body"] == "banana bread for lunch"
    assert hit["message"]["update_time"] > 0

    doomed = alice.ok("create_room", name="doomed", members=[bob.account_id])["room_id"]
    d = post(alice, doomed, "cucumber sandwiches")
    wait_found(bob, "cucumber", [(doomed, d)])
    alice.ok("delete_room", room_id=doomed)
    wait_found(bob, "cucumber", [])
    wait_found(alice, "cucumber", [])


def test_only_members_find_a_rooms_messages_and_a_removed_member_nothing(make_server):
    server = make_server()
    alice, bob, carol, room, other = setup_people(server)
    m = post(alice, room, "the secret launch code is tangerine")
    wait_found(bob, "tangerine", [(room, m)])
    # A non-member finds nothing of it, with or without naming the room.
    assert found(carol, "tangerine") == []
    carol.fail("search", "forbidden", q="tangerine", room_id=room)
    carol.fail("search", "not_found", q="tangerine", room_id=999999)
    # Removed: nothing old, nothing new.
    alice.ok("remove_member", room_id=room, account_id=bob.account_id)
    later = post(alice, room, "tangerine again after bob left")
    wait_found(alice, "tangerine", [(room, later), (room, m)])
    assert found(bob, "tangerine") == []
    bob.fail("search", "forbidden", q="tangerine", room_id=room)
    # Added back: the room is his to search again.
    alice.ok("add_members", room_id=room, account_ids=[bob.account_id])
    wait_found(bob, "tangerine", [(room, later), (room, m)])


def test_bad_queries_are_refused_and_the_server_keeps_serving(make_server):
    server = make_server()
    alice, bob, carol, room, other = setup_people(server)
    m = post(alice, room, "cats and dogs or birds not fish (maybe) star")
    wait_found(alice, "cats", [(room, m)])  # the only message: indexed once found

    for fields in ({"q": ""}, {"q": "   "}, {}, {"q": 5}, {"q": None}, {"q": "x" * 10 * 1024},
                   {"q": "( \" * )"}, {"q": "cats", "limit": 0}, {"q": "cats", "limit": 101},
                   {"q": "cats", "limit": "5"}, {"q": "cats", "offset": -1},
                   {"q": "cats", "offset": 100000}, {"q": "cats", "order": "oldest"},
                   {"q": "cats", "room_id": 0}, {"q": "cats", "account_id": "2"},
                   {"q": "cats", "after_time": -5}, {"q": "cats", "before_time": 1.5}):
        r = alice.fail("search", "bad_request", **fields)
        assert r["error"]["message"], r
    # Invalid UTF-8 cannot be sent in a text frame; a lone surrogate escape is the nearest: the
    # frame is not JSON, so the answer cannot name the request (`"re": null`).
    alice.send_text('{"id": 99, "op": "search", "q": "\\ud800 cats"}')
    assert alice.null_reply()["error"]["code"] == "bad_request"

    # Operators are plain words: no error, every word must be there.
    for q in ("AND OR NOT ( \" *", "cats AND dogs", "cats OR", "NOT fish", "\"cats", "star*",
              "(maybe)", "cats -dogs +birds", "title:cats", "cats NEAR dogs"):
        search(alice, q=q)
    assert found(alice, "cats AND dogs") == [(room, m)]
    assert found(alice, "cats NOT fish") == [(room, m)]
    assert found(alice, "cats elephants") == []

    # REST: the same refusals as 400 with Chatwork's error body.
    rest = Rest(server, alice.token)
    # 10 KB does not even fit the request line the gateway reads: refused before routing.
    st, body, _ = rest.call("GET", "/search", query={"q": "x" * 10 * 1024})
    assert st == 400, (st, body)
    for query in ({}, {"q": ""}, {"q": "x" * 600}, {"q": "cats", "limit": "0"},
                  {"q": "cats", "limit": "abc"}, {"q": "cats", "order": "oldest"},
                  {"q": "cats", "room_id": "-1"}):
        rest.error("GET", "/search", 400, query=query)
    st, body, _ = rest.call("GET", "/search?q=%FF%FEcats")
    assert st == 400 and "UTF-8" in body["errors"][0], body
    st, body, _ = rest.call("GET", "/search?q=" + urllib.parse.quote("AND OR NOT ( \" *"))
    assert st == 200 and set(body) == {"total", "results"}, body
    rest.error("POST", "/search", 405, form={"q": "cats"})

    # Still serving, and nothing lost.
    alice.ok("ping")
    assert found(alice, "cats") == [(room, m)]


def test_index_deleted_is_rebuilt_from_the_journal_with_the_same_answers(make_server):
    server = make_server()
    alice, bob, carol, room, other = setup_people(server)
    ids = [post(alice, room, f"会議の議事録 number {i}") for i in range(5)]
    alice.ok("edit_message", room_id=room, message_id=ids[0], body="edited 会議 minutes")
    alice.ok("delete_message", room_id=room, message_id=ids[1])
    expected = [(room, m) for m in reversed(ids) if m != ids[1]]
    wait_found(alice, "会議", expected)
    before = search(alice, q="会議", order="relevance")
    server.stop()
    index = os.path.join(server.data_dir, "search")
    assert os.path.isdir(index)
    shutil.rmtree(index)
    server.start()
    alice = server.connect(alice.token)
    wait_found(alice, "会議", expected)
    after = search(alice, q="会議", order="relevance")
    assert [(x["room_id"], x["message"], x["snippet"]) for x in after["results"]] == \
        [(x["room_id"], x["message"], x["snippet"]) for x in before["results"]]
    assert after["total"] == before["total"]


def test_admin_rebuild_search_gives_the_same_answers(make_server):
    """`hibiki admin rebuild search` on a serving node: the index is emptied and built again from
    the journal, and answers as before; the projection's status names it."""
    import json
    import subprocess
    from conftest import CLI
    if not CLI:
        pytest.fail("the hibiki CLI is needed: set HIBIKI_CLI (ctest does)")
    server = make_server()
    alice, bob, carol, room, other = setup_people(server)
    ids = [post(alice, room, f"東京都庁 walnut {i}") for i in range(30)]
    alice.ok("delete_message", room_id=room, message_id=ids[3])
    expected = [(room, m) for m in reversed(ids) if m != ids[3]]
    wait_found(alice, "walnut", expected, limit=100)
    before = search(alice, q="都庁 walnut", order="relevance", limit=100)

    def admin(*args):
        return subprocess.run([CLI, "--server", server.url, "admin", *args, "--admin-token-file",
                               server.admin_token_file], capture_output=True, text=True,
                              timeout=120)
    r = admin("rebuild", "search")
    assert r.returncode == 0, r.stderr
    assert "search: rebuilt" in r.stdout, r.stdout
    wait_found(alice, "walnut", expected, limit=100)
    after = search(alice, q="都庁 walnut", order="relevance", limit=100)
    assert after["results"] == before["results"] and after["total"] == before["total"]
    r = admin("projections", "--json")
    assert r.returncode == 0, r.stderr
    states = {p["name"]: p for p in json.loads(r.stdout)["projections"]}
    assert states["search"]["state"] in ("running", "rebuilding"), states


def test_kill9_while_indexing_loses_and_doubles_nothing(make_server):
    """kill -9 with the index behind the journal: after the restart every acknowledged message
    is found exactly once (the index resumes at the positions of its last commit)."""
    server = make_server()
    alice, bob, carol, room, other = setup_people(server)
    sent = send_many(alice, room, [f"kumquat harvest {i}" for i in range(400)], window=64)
    ids = [r["message_id"] for _, _, r in sent]
    server.kill9()
    server.start()
    alice = server.connect(alice.token)
    got = []

    def all_found():
        r = search(alice, q="kumquat", limit=100)
        got[:] = [r["total"]]
        return r["total"] == len(ids)
    wait_for(all_found, f"every message found after kill -9 (last total {got!r})",
             timeout=SEARCH_TIMEOUT)
    seen = []
    for offset in range(0, len(ids), 100):
        seen += [x["message"]["message_id"]
                 for x in search(alice, q="kumquat", limit=100, offset=offset)["results"]]
    assert sorted(seen, key=int) == sorted(ids, key=int)  # each once, none missing


def test_search_off_answers_unavailable(server_factory):
    server = server_factory("--search=off")
    alice = server.user("alice")
    alice.fail("search", "unavailable", q="anything")
    rest = Rest(server, alice.token)
    rest.error("GET", "/search", 503, query={"q": "anything"})
    assert not os.path.exists(os.path.join(server.data_dir, "search"))


def test_search_flags_are_checked(server_factory, hibikid_binary):
    import subprocess
    for flag in ("--search=maybe", "--search-language=Kling0n", "--search-language="):
        r = subprocess.run([hibikid_binary, flag, "--http=127.0.0.1:0"], capture_output=True,
                           timeout=30)
        assert r.returncode == 2, (flag, r)


def test_search_in_a_cluster_every_node_answers_from_its_own_index(
        cluster):  # noqa: F811 (the fixture of test_cluster)
    """Three nodes on Kafka: each keeps a full index of every partition and answers locally;
    membership is each node's read model, so a member removed through another node stops
    finding the room on its own node."""
    from test_cluster import NODES, connect, ok_anyway, rooms_per_owner, signup, wait_until
    owners = cluster.wait_settled(NODES)
    accounts = {n: signup(cluster, f"searcher-{n}") for n in NODES}
    clients = {n: connect(cluster.nodes[n], accounts[n][1]) for n in NODES}
    # n1's account makes rooms on every node's shards, with n2's account in them; n3's in none.
    rooms = rooms_per_owner(cluster, clients["n1"], owners, per_node=1,
                            members=[accounts["n2"][0]])
    posted = {}
    for room in [r for rs in rooms.values() for r in rs]:
        r = ok_anyway(clients["n1"], "send_message", room_id=room,
                      body=f"quokka sighted near 東京都庁 in {room}", client_msg_id=f"q-{room}")
        posted[room] = r["message_id"]
    expected = sorted(posted.items())

    def finds(n, want):
        r = ok_anyway(clients[n], "search", q="都庁 quokka", limit=100)
        return sorted((x["room_id"], x["message"]["message_id"]) for x in r["results"]) == want \
            and r["total"] == len(want)
    for n in ("n1", "n2"):
        wait_until(lambda: finds(n, expected), SEARCH_TIMEOUT, f"{n} finds every room's message")
    assert finds("n3", [])  # n3's index has them all; its account is in none of the rooms
    for n in NODES:
        assert os.path.isdir(os.path.join(cluster.nodes[n].data_dir, "search")), n

    # Removed through n1 (the admin's node): n2's account stops finding that room on n2.
    gone = expected[0][0]
    ok_anyway(clients["n1"], "remove_member", room_id=gone, account_id=accounts["n2"][0])
    wait_until(lambda: finds("n2", [x for x in expected if x[0] != gone]), SEARCH_TIMEOUT,
               "n2 no longer finds the room its account was removed from")
