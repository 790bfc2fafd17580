"""The limits' own storage (Redis) unreachable: what needs a count says "busy" and changes nothing,
/readyz says not ready, and the log names the storage (never its address or password)."""
import logging

from sqlalchemy import func, select

from conftest import PASSWORD
from messaging_helpers import messages_in, open_conversation, send
from wb import ratelimits
from wb.extensions import db
from wb.messaging.models import ConversationMembership

DOWN = "redis://:hunter2@127.0.0.1:1/0"  # nothing listens on port 1


def take_the_storage_down(app, monkeypatch):
    monkeypatch.setitem(app.config, "RATELIMIT_STORAGE_URI", DOWN)
    monkeypatch.setitem(app.extensions, "wb.ratelimits", app.extensions["wb.ratelimits"])  # put back afterwards
    ratelimits.init_app(app)


def test_sign_in_and_sends_answer_busy_and_change_nothing(app, client, alice, bob, make_user, login, messaging_on,
                                                         monkeypatch, caplog):
    make_user("carol")
    conversation_id = open_conversation(client_signed_in := login(alice), "bob")
    assert send(client_signed_in, conversation_id, "before the outage").status_code == 200
    take_the_storage_down(app, monkeypatch)
    caplog.set_level(logging.WARNING)

    signing_in = client.post("/login", data={"username": "bob", "password": PASSWORD})
    assert signing_in.status_code == 503 and signing_in.headers["Retry-After"]
    assert "Nothing was changed; try again in a few seconds." in signing_in.get_data(as_text=True)

    sent = send(client_signed_in, conversation_id, "during the outage")
    assert sent.status_code == 503
    assert [m.body for m in messages_in(conversation_id)] == ["before the outage"]
    api = client_signed_in.post(f"/api/v1/conversations/{conversation_id}/messages", json={"body": "by the API"})
    assert api.status_code == 503 and api.get_json()["status"] == 503
    starting = client_signed_in.post("/messages/with/carol")  # whether one may start can't be told: none opens
    assert starting.status_code == 503
    assert db.session.scalar(select(func.count()).select_from(ConversationMembership)
                             .where(ConversationMembership.user_id == alice.id)) == 1

    logged = [record for record in caplog.records if record.getMessage() == "rate limit storage unreachable"]
    assert logged and logged[0].storage == "redis" and logged[0].error == "ConnectionError"
    assert "hunter2" not in caplog.text
    assert not [record for record in caplog.records if record.levelno >= logging.ERROR]  # no "unhandled error"


def test_readyz_says_not_ready_while_the_limits_storage_is_down(app, client, monkeypatch):
    before = client.get("/readyz").get_json()
    assert before.get("rate_limits", {"ok": True})["ok"]  # counted in Redis (CI's second pass), it answers
    take_the_storage_down(app, monkeypatch)
    response = client.get("/readyz")
    assert response.status_code == 503
    body = response.get_json()
    assert body["status"] == "unavailable"
    assert body["rate_limits"] == {"ok": False, "storage": "redis"}
    assert body["databases"]["main"]["ok"] and body["databases"]["messaging"]["ok"]
    assert "hunter2" not in response.get_data(as_text=True)


def test_run_warns_that_the_limits_storage_does_not_answer(app, monkeypatch):
    take_the_storage_down(app, monkeypatch)
    started = []
    monkeypatch.setattr("os.execv", lambda path, argv: started.append(argv))
    result = app.test_cli_runner().invoke(args=["run", "--workers", "1"])
    assert result.exit_code == 0 and started  # it serves: Redis may come up after it
    assert "WB_RATELIMIT_STORAGE_URL (redis) doesn't answer" in result.output and "hunter2" not in result.output
