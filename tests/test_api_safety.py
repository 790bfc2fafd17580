"""Blocks and reports through the API."""
import pytest
from sqlalchemy import select

from api_helpers import alice_api, api_as, api_chat, assert_problem, bob_api, send  # noqa: F401
from wb.extensions import db
from wb.messaging.models import RANDOM_IDS, Block, Message, Report


def test_blocking_lists_and_unblocking_are_idempotent(alice_api, alice, bob):
    assert alice_api.put("/api/v1/blocks/bob").status_code == 204
    assert alice_api.put("/api/v1/blocks/BOB").status_code == 204
    assert alice_api.get("/api/v1/blocks").get_json() == {
        "blocked": [{"username": "bob", "display_name": "Bob", "former": False}]}
    assert db.session.scalars(select(Block)).all()[0].blocked_id == bob.id
    assert alice_api.delete("/api/v1/blocks/bob").status_code == 204
    assert alice_api.delete("/api/v1/blocks/bob").status_code == 204
    assert alice_api.get("/api/v1/blocks").get_json() == {"blocked": []}


def test_blocking_nobody_or_yourself_is_refused(alice_api, alice):
    assert_problem(alice_api.put("/api/v1/blocks/nobody"), 404)
    assert_problem(alice_api.put("/api/v1/blocks/alice"), 400)


def test_a_username_written_with_its_at_names_the_member_in_blocks_and_reports(alice_api, alice, bob):
    """Pages write "@bob": "with" took it, but blocks and reports answered 404 "No member has that
    username." (an API tester). Every route that takes a username reads one @ past."""
    assert alice_api.put("/api/v1/blocks/@bob").status_code == 204
    assert [(b.blocker_id, b.blocked_id) for b in db.session.scalars(select(Block))] == [(alice.id, bob.id)]
    assert alice_api.get("/api/v1/blocks").get_json()["blocked"][0]["username"] == "bob"
    assert alice_api.delete("/api/v1/blocks/%40bob").status_code == 204
    assert db.session.scalars(select(Block)).all() == []
    reported = alice_api.post("/api/v1/reports", json={"username": " @Bob", "reason": "spam", "note": "ads"})
    assert reported.status_code == 201 and reported.get_json()["reason"] == "spam"
    row = db.session.scalars(select(Report)).one()
    assert (row.reporter_id, row.reported_id, row.note) == (alice.id, bob.id, "ads")
    for nobody in ("/api/v1/blocks/@nobody", "/api/v1/blocks/@@bob"):
        assert assert_problem(alice_api.put(nobody), 404)["detail"] == "No member has that username."
    assert db.session.scalars(select(Block)).all() == []


def test_a_blocked_member_sees_nothing_of_the_block(alice_api, bob_api, bob):
    alice_api.put("/api/v1/blocks/bob")
    assert bob_api.get("/api/v1/blocks").get_json() == {"blocked": []}
    assert assert_problem(bob_api.post("/api/v1/conversations", json={"with": "alice"}), 403)["detail"] \
        == "Alice isn't accepting messages right now. Only they can change that."  # as "Pause messages"


def test_a_report_is_filed_without_telling_anyone(alice_api, alice, bob):
    response = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "ads"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["reason"] == "spam" and body["created_at"].endswith("Z")
    row = db.session.scalars(select(Report)).one()
    assert (row.reporter_id, row.reported_id, row.note) == (alice.id, bob.id, "ads")


def test_reporting_the_only_admin_says_the_report_waits_for_another(alice_api, alice, make_user):
    """The web said "Ada Admin is the only admin here, so your report waits until there is another"; the
    API answered a plain 201 (a residents' building's tester). It says so too, in the same words, and the
    report is kept, once, for the next admin; a report an admin will read says nothing of waiting."""
    ada = make_user("ada", role="admin", display_name="Ada Admin")
    response = alice_api.post("/api/v1/reports", json={"username": "ada", "reason": "harassment", "note": "rude"})
    assert response.status_code == 201
    body = response.get_json()
    assert body["waits_for_another_admin"] is True
    assert body["why_waiting"] == ("Ada Admin is the only admin here, so your report waits until there is another; "
                                   "they aren't told about it.")
    again = alice_api.post("/api/v1/reports", json={"username": "ada", "reason": "harassment", "note": "again"})
    assert again.status_code == 200 and again.get_json()["waits_for_another_admin"] is True
    row = db.session.scalars(select(Report)).one()
    assert (row.reporter_id, row.reported_id, row.status) == (alice.id, ada.id, "open")

    make_user("root", role="admin")
    other = alice_api.post("/api/v1/reports", json={"username": "ada", "reason": "spam"})
    assert other.status_code == 201
    assert (other.get_json()["waits_for_another_admin"], other.get_json()["why_waiting"]) == (False, None)


def test_a_report_id_tells_nothing_of_how_many_reports_others_filed(alice_api, api_as, alice, bob, make_user):
    """Ids counted up: a member's report was 2, another member's then 3, 4...: a reporter learned how
    many reports others filed, and reports are confidential (an API tester). Drawn at random, as a
    conversation's id is."""
    carol = make_user("carol")
    carol_api = api_as(carol)
    filed = [alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam"}),
             carol_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam"}),
             carol_api.post("/api/v1/reports", json={"username": "alice", "reason": "scam"}),
             alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "scam"})]
    assert [response.status_code for response in filed] == [201] * 4
    ids = [response.get_json()["id"] for response in filed]
    low, high = RANDOM_IDS
    assert all(low <= id_ < high for id_ in ids), ids  # no small counted number
    assert all(abs(later - earlier) != 1 for earlier, later in zip(ids, ids[1:])), ids
    rows = db.session.execute(select(Report.id, Report.reporter_id, Report.reason)).all()
    assert sorted(rows) == sorted(zip(ids, (alice.id, carol.id, carol.id, alice.id), ("spam", "spam", "scam", "scam")))
    # A note added to the open report answers with that report's id (200), not a new one.
    again = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "more"})
    assert again.status_code == 200 and again.get_json()["id"] == ids[0]


def test_reporting_the_same_member_again_adds_to_the_open_report(alice_api, alice, bob, admin, login):
    """One open report per reporter, member and reason for the admins: a second note goes under the
    first, a repeat adds nothing; another reason is a report of its own (added to the first, its
    reason was lost: a re-check tester); once resolved, a new report is its own (found by an outside
    tester: eight rows for one pair)."""
    first = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "ads"})
    assert first.status_code == 201
    first = first.get_json()
    for _ in range(3):  # 200: nothing new was created (a 201 told the client it was)
        again = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "ads"})
        assert again.status_code == 200 and again.get_json() == first
    more = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "more ads"})
    assert more.status_code == 200 and more.get_json() == first
    other = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "harassment", "note": "rude at night"})
    assert other.status_code == 201 and other.get_json()["reason"] == "harassment"
    rows = db.session.scalars(select(Report).order_by(Report.created_at, Report.id)).all()
    assert [(r.reason, r.note) for r in rows] == [("spam", "ads\n\nmore ads"), ("harassment", "rude at night")]
    login(admin).post(f"/admin/reports/{rows[0].id}/resolve")
    assert alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "ads again"}).status_code == 201
    assert [r.note for r in db.session.scalars(select(Report).order_by(Report.created_at, Report.id))] == [
        "ads\n\nmore ads", "rude at night", "ads again"]


def test_a_note_too_long_to_join_the_open_report_is_refused_not_filed_apart(alice_api, alice, bob):
    """A blocked member filed ten reports at once, each with a long note, ten rows for the admins
    (an outside tester): the open report holds what fits and a longer note is refused, saying how much
    fits, while it is open."""
    first = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "a" * 900})
    assert first.status_code == 201
    for _ in range(3):
        refused = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "b" * 950})
        assert_problem(refused, 422)
        assert "Shorten this note to at most 98 characters" in refused.get_json()["detail"]
    other_reason = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "safety", "note": "c" * 900})
    assert other_reason.status_code == 201  # a threat is a report of its own, however full the other
    assert alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "b" * 98}).status_code == 200
    full = alice_api.post("/api/v1/reports", json={"username": "bob", "reason": "spam", "note": "more"})
    assert_problem(full, 422)
    assert "no room for more" in full.get_json()["detail"]
    row = db.session.scalars(select(Report).where(Report.reason == "spam")).one()
    assert row.note == "a" * 900 + "\n\n" + "b" * 98 and len(row.note) == 1000


@pytest.mark.parametrize("payload, status", [
    ({"username": "bob", "reason": "bored"}, 422), ({"username": "bob"}, 422),
    ({"username": "bob", "reason": "spam", "note": "x" * 1001}, 422), ({"username": "alice", "reason": "spam"}, 400),
    ({"username": "ghost", "reason": "spam"}, 404), ({"username": "bob", "reason": "spam", "note": "\x00"}, 422),
])
def test_bad_reports_are_refused(alice_api, bob, payload, status):
    assert_problem(alice_api.post("/api/v1/reports", json=payload), status)
    assert db.session.scalars(select(Report)).all() == []


@pytest.mark.parametrize("act", [None, "block", "report"])
def test_a_sender_s_delete_answers_the_same_and_a_reporter_keeps_the_evidence(api_chat, alice_api, bob_api, act):
    """A reported scammer deleted his 15 messages from his victim's copy through the API (an outside tester);
    then the delete answered 403 "the other member keeps their copy", which told a sender they were reported
    or blocked (a therapy practice's tester). It answers the same either way, and the reporter keeps their copy."""
    _, _, cid = api_chat
    sent = send(alice_api, cid, "pay the deposit here")
    if act == "report":
        assert bob_api.post("/api/v1/reports", json={"username": "alice", "reason": "scam"}).status_code == 201
    elif act == "block":
        assert bob_api.put("/api/v1/blocks/alice").status_code == 204
    bob_before = bob_api.get(f"/api/v1/conversations/{cid}/messages")
    bob_conversation = bob_api.get(f"/api/v1/conversations/{cid}").get_json()

    deleted = alice_api.delete(f"/api/v1/conversations/{cid}/messages/{sent['id']}")

    assert (deleted.status_code, deleted.get_data()) == (204, b"")
    mine = alice_api.get(f"/api/v1/conversations/{cid}/messages").get_json()["messages"]
    assert [(m["id"], m["body"], m["deleted"], m["from_me"]) for m in mine] == [(sent["id"], None, True, True)]
    db.session.expire_all()
    stored = db.session.scalars(select(Message)).one()
    bob_after = bob_api.get(f"/api/v1/conversations/{cid}/messages")
    if act is None:
        assert stored.body == "" and stored.deleted_at is not None
        assert [m["deleted"] for m in bob_after.get_json()["messages"]] == [True]
    else:  # Bob's copy: as it was, to the byte and the ETag
        assert stored.body == "pay the deposit here"
        assert bob_after.get_json() == bob_before.get_json()
        assert [m["body"] for m in bob_after.get_json()["messages"]] == ["pay the deposit here"]
        assert bob_after.headers["ETag"] == bob_before.headers["ETag"]
        assert bob_api.get(f"/api/v1/conversations/{cid}").get_json() == bob_conversation  # unread count, preview
        assert bob_conversation["unread_count"] == 1
