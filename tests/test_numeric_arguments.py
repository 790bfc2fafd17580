"""Numbers in links and forms are ASCII digits; anything else is a clear 400 (or page 1), never a 500."""
import pytest
from sqlalchemy import func, select

from messaging_helpers import messages_in, visible_text
from wb.extensions import db
from wb.models import HelpRequest, Invite

# str.isdigit() says yes to all of the first four, int() says no to the first three and
# quietly reads "٣" as 3; the rest are what int() would accept and a link should not.
NOT_ASCII_NUMBERS = ["²", "①", "1²", "٣", "１", "-1", "+1", "1_000", "0x1f", "9" * 20, "9" * 5000]
NOT_QUERY_NUMBERS = NOT_ASCII_NUMBERS + [" 1", "1\n"]


@pytest.mark.parametrize("value", NOT_QUERY_NUMBERS)
@pytest.mark.parametrize("name", ["after", "seen"])
def test_a_poll_with_a_cursor_that_is_not_a_number_is_a_400(alice_wrote_to_bob, name, value):
    alice_client, cid = alice_wrote_to_bob

    response = alice_client.get(f"/messages/{cid}/poll", query_string={name: value})

    assert response.status_code == 400
    assert f"'{name}' must be a message number." in visible_text(response)


def test_a_poll_from_outside_the_conversation_with_a_bad_cursor_is_refused_not_a_500(alice_wrote_to_bob, make_user, login):
    _, cid = alice_wrote_to_bob
    stranger = login(make_user("carol"))

    response = stranger.get(f"/messages/{cid}/poll?after=%C2%B2")

    assert response.status_code in (400, 404)


@pytest.mark.parametrize("value", NOT_QUERY_NUMBERS)
def test_older_messages_need_a_message_number(alice_wrote_to_bob, value):
    alice_client, cid = alice_wrote_to_bob

    response = alice_client.get(f"/messages/{cid}", query_string={"before": value})

    assert response.status_code == 400
    assert "'before' must be a message number." in visible_text(response)


def test_plain_cursors_still_work(alice_wrote_to_bob):
    alice_client, cid = alice_wrote_to_bob
    newest = messages_in(cid)[-1].id  # ids keep counting across the suite on PostgreSQL: ask after this one

    assert alice_client.get(f"/messages/{cid}/poll?after={newest}&seen=0").status_code == 204
    assert "Hello Bob" in visible_text(alice_client.get(f"/messages/{cid}/poll?after=0&seen=0"))
    assert alice_client.get(f"/messages/{cid}?before=1").status_code == 200


@pytest.mark.parametrize("value", NOT_ASCII_NUMBERS + ["0", "1001", ""])
def test_invite_uses_must_be_a_whole_number_from_1_to_1000(app, admin, login, value):
    admin_client = login(admin)

    response = admin_client.post("/invites", data={"max_uses": value, "approval": "auto"})

    if value == "":  # an empty box means the default, one use
        assert response.status_code == 302
        assert db.session.scalar(select(Invite.max_uses)) == 1
        return
    assert response.status_code == 400
    assert "Uses must be a whole number from 1 to 1,000." in visible_text(response)
    assert db.session.scalar(select(func.count(Invite.id))) == 0


def test_invite_uses_in_ascii_digits_are_kept(app, admin, login):
    assert login(admin).post("/invites", data={"max_uses": "1000"}).status_code == 302
    assert db.session.scalar(select(Invite.max_uses)) == 1000


@pytest.mark.parametrize("path", ["/members", "/requests", "/messages"])
@pytest.mark.parametrize("value", ["²", "①", "٣", "-3", "9" * 5000])
def test_a_page_number_that_is_not_ascii_digits_shows_page_one(app, alice, login, messaging_on, path, value):
    response = login(alice).get(path, query_string={"page": value})

    assert response.status_code == 200


# --- ids in paths: ASCII digits, and no larger than the column that holds them ------------------

ARABIC_INDIC = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")


@pytest.mark.parametrize("path", ["/requests/2147483648", "/messages/2147483648", "/messages/2147483648/poll",
                                  "/messages/9223372036854775807/poll"])
def test_ids_past_what_an_integer_column_holds_are_not_found(alice_wrote_to_bob, path):
    alice_client, _ = alice_wrote_to_bob

    response = alice_client.get(path)

    assert response.status_code == 404


def test_resolving_a_report_past_what_an_integer_column_holds_is_not_found(app, admin, login):
    assert login(admin).post("/admin/reports/2147483648/resolve").status_code == 404


@pytest.mark.parametrize("message_id", [2**31, 2**63 - 1])
def test_message_ids_are_big_and_still_just_not_found(alice_wrote_to_bob, message_id):
    alice_client, cid = alice_wrote_to_bob

    assert alice_client.get(f"/messages/{cid}/messages/{message_id}/actions").status_code == 404
    assert alice_client.post(f"/messages/{cid}/messages/{message_id}/delete").status_code == 404


def test_an_id_in_other_digits_names_nothing(alice_wrote_to_bob):
    alice_client, _ = alice_wrote_to_bob
    alice_client.post("/requests/new", data={"title": "Ladder", "body": "Need one"})
    request_id = db.session.scalar(select(HelpRequest.id))

    assert alice_client.get(f"/requests/{request_id}").status_code == 200
    assert alice_client.get(f"/requests/{str(request_id).translate(ARABIC_INDIC)}").status_code == 404


@pytest.mark.parametrize("method, path", [("POST", "/messages/99999999999"), ("GET", "/messages/99999999999"),
                                          ("POST", "/settings/tokens/99999999999/revoke"),
                                          ("POST", "/messages/1/messages/99999999999999999999/delete")])
def test_an_id_past_the_largest_is_not_found_whatever_the_method(alice_wrote_to_bob, method, path):
    """Not 405 with GET allowed for a POST (a path with a GET and a POST route): no row has that id."""
    alice_client = alice_wrote_to_bob[0]
    response = alice_client.open(path, method=method, headers={"HX-Request": "true"})
    assert response.status_code == 404 and "Allow" not in response.headers


def test_the_api_answers_404_for_an_id_past_the_largest_whatever_the_method(app, alice, messaging_on):
    from api_helpers import ApiClient, token_for

    api = ApiClient(app.test_client(), token_for(alice))
    response = api.post("/api/v1/conversations/99999999999/messages", json={"body": "hello"})
    assert response.status_code == 404 and response.get_json()["status"] == 404
