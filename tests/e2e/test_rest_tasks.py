"""Tasks over the Chatwork-compatible REST API (docs/rest-api.md) against a real hibikid:
GET/POST /rooms/{id}/tasks, GET /rooms/{id}/tasks/{task_id}, PUT .../status and GET /my/tasks,
with Chatwork's task objects (named `account` and `assigned_by_account`), their filters, 204 for
an empty list, and every error; and the names the WebSocket's task replies now carry."""

import pytest

from test_rest import avatar, image_url, make_room, people

TASK_FIELDS = {"task_id", "account", "assigned_by_account", "message_id", "body", "limit_time",
               "status", "limit_type"}
PERSON_FIELDS = {"account_id", "name", "avatar_image_url"}


@pytest.fixture
def server(server_factory):
    return server_factory()


def check_task(t, with_room=False):
    assert set(t) == TASK_FIELDS | ({"room"} if with_room else set()), t
    assert type(t["task_id"]) is int and t["task_id"] > 0
    for who in ("account", "assigned_by_account"):
        assert set(t[who]) == PERSON_FIELDS, t
        assert type(t[who]["account_id"]) is int
        assert t[who]["avatar_image_url"].endswith("/img/avatar.svg"), t
    # The message that adding the task posted (Chatwork's message_id: a digit string).
    assert isinstance(t["message_id"], str) and t["message_id"].isdigit(), t
    assert type(t["limit_time"]) is int
    assert t["status"] in ("open", "done") and t["limit_type"] in ("none", "date", "time")
    if with_room:
        assert set(t["room"]) == {"room_id", "name", "icon_path"}, t


def test_tasks_in_a_room(server):
    (alice, ra), (bob, rb), (carol, rc) = people(server, "alice", "bob", "carol")
    room = make_room(ra, "team", admins=[alice], members=[bob, carol])
    # Empty: 204.
    st, body, _ = ra.call("GET", f"/rooms/{room}/tasks")
    assert st == 204 and body is None

    # One task per assignee, as Chatwork: task_ids in the order of to_ids.
    made = ra.ok("POST", f"/rooms/{room}/tasks", form={
        "body": "write the spec", "to_ids": f"{bob},{carol}", "limit": "1900000000",
        "limit_type": "date"})
    assert set(made) == {"task_ids"} and made["task_ids"] == [1, 2], made
    # Without a limit: limit_type none; the parameters in the query string work too.
    assert rb.ok("POST", f"/rooms/{room}/tasks",
                 query={"body": "review", "to_ids": str(alice)}) == {"task_ids": [3]}
    # With a limit and no limit_type: a moment (time).
    assert ra.ok("POST", f"/rooms/{room}/tasks", form={
        "body": "ship", "to_ids": str(bob), "limit": "1900003600"}) == {"task_ids": [4]}

    tasks = rc.ok("GET", f"/rooms/{room}/tasks")
    for t in tasks:
        check_task(t)
    assert [t["task_id"] for t in tasks] == [1, 2, 3, 4]
    first = tasks[0]
    assert first["account"] == {"account_id": bob, "name": "bob",
                                "avatar_image_url": avatar(server)}
    assert first["assigned_by_account"] == {"account_id": alice, "name": "alice",
                                            "avatar_image_url": avatar(server)}
    # Each POST posted one message showing its tasks: the two tasks of one POST share it, and
    # it is an ordinary message of the room, by the creator, naming the assignees.
    assert [t["message_id"] for t in tasks] == ["1", "1", "2", "3"], tasks
    shown = rc.ok("GET", f"/rooms/{room}/messages/1")
    assert shown["account"]["account_id"] == alice
    assert shown["body"] == (f"[info][title]Task for [piconname:{bob}] [piconname:{carol}]"
                             "[/title]write the spec[/info]"), shown
    assert rc.ok("GET", f"/rooms/{room}/messages/2")["account"]["account_id"] == bob
    assert (first["body"], first["limit_time"], first["limit_type"], first["status"]) == (
        "write the spec", 1900000000, "date", "open"), first
    assert (tasks[2]["limit_time"], tasks[2]["limit_type"]) == (0, "none")
    assert (tasks[3]["limit_time"], tasks[3]["limit_type"]) == (1900003600, "time")
    assert tasks[2]["account"]["name"] == "alice" and tasks[2]["assigned_by_account"][
        "name"] == "bob"

    # One task.
    one = rc.ok("GET", f"/rooms/{room}/tasks/2")
    check_task(one)
    assert one == tasks[1]
    # Status: the assignee marks done, the creator opens again ("body" is the status).
    assert rb.ok("PUT", f"/rooms/{room}/tasks/1/status", form={"body": "done"}) == {
        "task_id": 1}
    assert rb.ok("GET", f"/rooms/{room}/tasks/1")["status"] == "done"
    assert ra.ok("PUT", f"/rooms/{room}/tasks/1/status", form={"body": "open"}) == {
        "task_id": 1}
    assert ra.ok("PUT", f"/rooms/{room}/tasks/1/status", form={"body": "done"}) == {
        "task_id": 1}
    # Marking it done again changes nothing and answers the same.
    assert rb.ok("PUT", f"/rooms/{room}/tasks/1/status", form={"body": "done"}) == {
        "task_id": 1}

    # Filters: assignee, creator, status, and together; 204 when nothing matches.
    ids = lambda q: [t["task_id"] for t in ra.ok("GET", f"/rooms/{room}/tasks", query=q)]
    assert ids({"account_id": bob}) == [1, 4]
    assert ids({"assigned_by_account_id": bob}) == [3]
    assert ids({"status": "done"}) == [1]
    assert ids({"status": "open"}) == [2, 3, 4]
    assert ids({"account_id": bob, "status": "open", "assigned_by_account_id": alice}) == [4]
    st, body, _ = ra.call("GET", f"/rooms/{room}/tasks",
                          query={"account_id": carol, "status": "done"})
    assert st == 204 and body is None

    # The counts follow: bob has one open task (4), the room three.
    x = rb.ok("GET", f"/rooms/{room}")
    assert (x["task_num"], x["mytask_num"]) == (3, 1), x


def test_my_tasks(server):
    (alice, ra), (bob, rb), (carol, rc) = people(server, "alice", "bob", "carol")
    team = make_room(ra, "team", admins=[alice], members=[bob, carol])
    side = make_room(rc, "side", admins=[carol], members=[bob])
    st, body, _ = rb.call("GET", "/my/tasks")
    assert st == 204 and body is None
    ra.ok("POST", f"/rooms/{team}/tasks", form={"body": "a1", "to_ids": str(bob)})
    ra.ok("POST", f"/rooms/{team}/tasks", form={"body": "a2", "to_ids": f"{bob},{carol}"})
    rc.ok("POST", f"/rooms/{side}/tasks", form={"body": "c1", "to_ids": str(bob),
                                                "limit": "1900000000"})
    rb.ok("PUT", f"/rooms/{team}/tasks/1/status", form={"body": "done"})

    mine = rb.ok("GET", "/my/tasks")
    for t in mine:
        check_task(t, with_room=True)
        assert t["account"]["account_id"] == bob and t["account"]["name"] == "bob"
    assert [(t["room"]["room_id"], t["task_id"], t["body"]) for t in mine] == [
        (team, 1, "a1"), (team, 2, "a2"), (side, 1, "c1")], mine
    assert mine[0]["room"] == {"room_id": team, "name": "team",
                               "icon_path": image_url(server, "/img/icon/group.svg")}
    assert mine[2]["room"]["name"] == "side"
    assert mine[2]["assigned_by_account"]["name"] == "carol"
    assert mine[2]["limit_time"] == 1900000000 and mine[2]["limit_type"] == "time"
    # Filters: creator and status.
    by = lambda q: [(t["room"]["room_id"], t["task_id"])
                    for t in rb.ok("GET", "/my/tasks", query=q)]
    assert by({"assigned_by_account_id": carol}) == [(side, 1)]
    assert by({"status": "done"}) == [(team, 1)]
    assert by({"status": "open", "assigned_by_account_id": alice}) == [(team, 2)]
    st, body, _ = rb.call("GET", "/my/tasks", query={"assigned_by_account_id": bob})
    assert st == 204 and body is None
    # The room's rename shows in my tasks.
    ra.ok("PUT", f"/rooms/{team}", form={"name": "core"})
    assert rb.ok("GET", "/my/tasks", query={"status": "done"})[0]["room"]["name"] == "core"
    # Leaving a room takes your tasks there with you (Chatwork's rule).
    st, _, _ = rb.call("DELETE", f"/rooms/{side}", form={"action_type": "leave"})
    assert st == 204
    assert [t["room"]["room_id"] for t in rb.ok("GET", "/my/tasks")] == [team, team]
    # Errors.
    assert "status" in rb.error("GET", "/my/tasks", 400, query={"status": "closed"})
    assert "assigned_by_account_id" in rb.error("GET", "/my/tasks", 400,
                                                query={"assigned_by_account_id": "x"})
    rb.error("GET", "/my/tasks", 400, query={"assigned_by_account_id": "0"})
    rb.error("GET", "/my/tasks", 401, token=False)
    rb.error("GET", "/my/tasks", 401, token="0" * 64)
    st, body, h = rb.call("POST", "/my/tasks")
    assert st == 405 and h.get("allow") == "GET" and body["errors"]
    # A deleted room's tasks vanish from my/tasks.
    st, _, _ = ra.call("DELETE", f"/rooms/{team}", form={"action_type": "delete"})
    assert st == 204
    st, body, _ = rb.call("GET", "/my/tasks")
    assert st == 204 and body is None


def test_task_errors(server):
    (alice, ra), (bob, rb), (carol, rc), (dave, rd), (eve, re_) = people(
        server, "alice", "bob", "carol", "dave", "eve")
    room = make_room(ra, "team", admins=[alice], members=[bob, carol], readonly=[dave])
    assert ra.ok("POST", f"/rooms/{room}/tasks", form={"body": "t", "to_ids": str(bob)}) == {
        "task_ids": [1]}
    post = lambda r, status, form: r.error("POST", f"/rooms/{room}/tasks", status, form=form)

    # Bad parameters: 400, naming the parameter.
    assert "to_ids" in post(ra, 400, {"body": "t"})
    assert "to_ids" in post(ra, 400, {"body": "t", "to_ids": ""})
    assert "to_ids" in post(ra, 400, {"body": "t", "to_ids": "x"})
    assert "to_ids" in post(ra, 400, {"body": "t", "to_ids": f"{bob},"})
    assert "body" in post(ra, 400, {"to_ids": str(bob)})
    assert "body" in post(ra, 400, {"body": "", "to_ids": str(bob)})
    assert "limit" in post(ra, 400, {"body": "t", "to_ids": str(bob), "limit": "soon"})
    post(ra, 400, {"body": "t", "to_ids": str(bob), "limit": "-5"})
    assert "limit_type" in post(ra, 400, {"body": "t", "to_ids": str(bob),
                                          "limit": "1900000000", "limit_type": "week"})
    # date or time needs a limit.
    post(ra, 400, {"body": "t", "to_ids": str(bob), "limit_type": "date"})
    # Everyone in to_ids must be a member.
    assert str(eve) in post(ra, 400, {"body": "t", "to_ids": f"{bob},{eve}"})
    post(ra, 413, {"body": "x" * 65536, "to_ids": str(bob)})
    # Read-only members cannot add tasks; strangers are not members; no such room.
    post(rd, 403, {"body": "t", "to_ids": str(bob)})
    post(re_, 403, {"body": "t", "to_ids": str(bob)})
    ra.error("POST", "/rooms/987654/tasks", 404, form={"body": "t", "to_ids": str(bob)})
    ra.error("POST", f"/rooms/{room}/tasks", 401, token=False,
             form={"body": "t", "to_ids": str(bob)})

    # Reading: not a member, no such room or task, bad ids and filters.
    re_.error("GET", f"/rooms/{room}/tasks", 403)
    re_.error("GET", f"/rooms/{room}/tasks/1", 403)
    ra.error("GET", "/rooms/987654/tasks", 404)
    ra.error("GET", f"/rooms/{room}/tasks/99", 404)
    assert "task_id" in ra.error("GET", f"/rooms/{room}/tasks/x", 400)
    ra.error("GET", f"/rooms/{room}/tasks/0", 400)
    assert "account_id" in ra.error("GET", f"/rooms/{room}/tasks", 400,
                                    query={"account_id": "bob"})
    ra.error("GET", f"/rooms/{room}/tasks", 400, query={"assigned_by_account_id": "-1"})
    assert "status" in ra.error("GET", f"/rooms/{room}/tasks", 400, query={"status": "all"})
    ra.error("GET", f"/rooms/{room}/tasks/1", 401, token="0" * 64)

    # Status: only the assignee or the creator; the value must be open or done.
    put = lambda r, status, task=1, **kw: r.error("PUT", f"/rooms/{room}/tasks/{task}/status",
                                                  status, **kw)
    assert "body" in put(rb, 400)
    assert "body" in put(rb, 400, form={"body": "finished"})
    put(rc, 403, form={"body": "done"})
    put(rd, 403, form={"body": "done"})
    put(re_, 403, form={"body": "done"})
    put(rb, 404, task=99, form={"body": "done"})
    put(rb, 400, task="x", form={"body": "done"})
    rb.error("PUT", "/rooms/987654/tasks/1/status", 404, form={"body": "done"})
    put(rb, 401, token=False, form={"body": "done"})

    # Wrong methods and paths.
    st, body, h = ra.call("PUT", f"/rooms/{room}/tasks")
    assert st == 405 and h.get("allow") == "GET, POST" and body["errors"]
    st, body, h = ra.call("DELETE", f"/rooms/{room}/tasks/1")
    assert st == 405 and h.get("allow") == "GET"
    st, body, h = ra.call("GET", f"/rooms/{room}/tasks/1/status")
    assert st == 405 and h.get("allow") == "PUT"
    ra.error("GET", f"/rooms/{room}/tasks/1/statuses", 404)

    # None of it made or changed a task, nor posted a task message: the room has the one
    # message of the one task made.
    tasks = ra.ok("GET", f"/rooms/{room}/tasks")
    assert [(t["task_id"], t["status"]) for t in tasks] == [(1, "open")], tasks
    assert ra.ok("GET", f"/rooms/{room}")["message_num"] == 1


def test_rate_limit_on_task_endpoints(server_factory):
    server = server_factory("--api-rate=3/min")
    (alice, ra), = people(server, "alice")
    room = make_room(ra, "r", admins=[alice])
    assert ra.ok("POST", f"/rooms/{room}/tasks", form={"body": "t", "to_ids": str(alice)})
    st, _, h = ra.call("GET", "/my/tasks")
    assert st == 200 and h["x-ratelimit-remaining"] == "0"
    for method, path, form in (("GET", f"/rooms/{room}/tasks", None),
                               ("POST", f"/rooms/{room}/tasks",
                                {"body": "t2", "to_ids": str(alice)}),
                               ("PUT", f"/rooms/{room}/tasks/1/status", {"body": "done"}),
                               ("GET", "/my/tasks", None)):
        st, body, h = ra.call(method, path, form=form)
        assert st == 429 and "rate limit" in body["errors"][0].lower(), (method, path, body)
    # Nothing was made or changed by the refused requests.
    ws = server.connect(ra.token)
    assert [(t["task_id"], t["status"]) for t in ws.ok("list_tasks", room_id=room)["tasks"]] == [
        (1, "open")]


def test_websocket_task_replies_carry_names(server):
    (alice, ra), (bob, rb) = people(server, "alice", "bob")
    room = make_room(ra, "team", admins=[alice], members=[bob])
    ws_a, ws_b = server.connect(ra.token), server.connect(rb.token)
    ws_a.ok("add_task", room_id=room, body="t", to_ids=[bob])
    named = {"account": {"account_id": bob, "name": "bob"},
             "assigned_by_account": {"account_id": alice, "name": "alice"}}
    t = ws_b.ok("get_task", room_id=room, task_id=1)["task"]
    assert {k: t[k] for k in named} == named, t
    t = ws_b.ok("list_tasks", room_id=room)["tasks"][0]
    assert {k: t[k] for k in named} == named, t
    t = ws_b.ok("my_tasks")["tasks"][0]
    assert {k: t[k] for k in named} == named, t
    # A rename shows at once.
    ws_a.ok("update_profile", name="Alice L.")
    t = ws_b.ok("get_task", room_id=room, task_id=1)["task"]
    assert t["assigned_by_account"]["name"] == "Alice L."
    assert rb.ok("GET", "/my/tasks")[0]["assigned_by_account"]["name"] == "Alice L."


def test_task_pushes_carry_the_task_with_names(server):
    """task_added / task_updated pushes carry the whole task object, its people named; adding
    tasks also pushes the message that shows them (message_created), before the tasks."""
    (alice, ra), (bob, rb), (carol, rc) = people(server, "alice", "bob", "carol")
    room = make_room(ra, "team", admins=[alice], members=[bob, carol])
    ws_a, ws_b, ws_c = (server.connect(r.token) for r in (ra, rb, rc))
    r = ws_a.ok("add_task", room_id=room, body="ship it", to_ids=[bob, carol],
                limit=1900000000, limit_type="date")
    assert r["task_ids"] == [1, 2] and r["message_id"].isdigit(), r
    shown = ws_c.next_event("message_created", pred=lambda e: e["room_id"] == room)
    assert shown["message"]["message_id"] == r["message_id"]
    assert shown["message"]["account"] == {"account_id": alice, "name": "alice"}
    assert "ship it" in shown["message"]["body"]
    for task_id, who, name in ((1, bob, "bob"), (2, carol, "carol")):
        e = ws_c.next_event("task_added", pred=lambda e, t=task_id: e["task"]["task_id"] == t)
        t = e["task"]
        assert t["account"] == {"account_id": who, "name": name}, t
        assert t["assigned_by_account"] == {"account_id": alice, "name": "alice"}, t
        assert (t["body"], t["limit_time"], t["limit_type"], t["status"], t["message_id"]) == (
            "ship it", 1900000000, "date", "open", r["message_id"]), t
    # Done by bob: carol's push has the task, done, with both names.
    ws_b.ok("set_task_status", room_id=room, task_id=1, status="done")
    e = ws_c.next_event("task_updated", pred=lambda e: e["task"]["task_id"] == 1)
    assert e["task"]["status"] == "done" and e["task"]["account"]["name"] == "bob", e
    assert e["task"]["assigned_by_account"]["name"] == "alice", e
    # A sync replay names the people as they are named now.
    ws_a.ok("update_profile", name="Alice L.")
    late = server.connect(rc.token)
    late.ok("sync", since={str(room): 0})
    late.next_event("synced")
    replayed = [e for e in late.all_events
                if e.get("ev") in ("task_added", "task_updated") and e["room_id"] == room]
    assert len(replayed) == 3, replayed
    assert {e["task"]["assigned_by_account"]["name"] for e in replayed} == {"Alice L."}
    # A refused add_task posts nothing and pushes nothing.
    ws_a.fail("add_task", "bad_request", room_id=room, body="x", to_ids=[987654])
    assert ws_a.ok("get_room", room_id=room)["room"]["message_num"] == 1
