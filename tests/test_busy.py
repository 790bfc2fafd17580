"""A server with every database connection taken answers 503 "Busy" with Retry-After, not a 500."""
import pytest

from wb.extensions import db


@pytest.fixture
def app_config():
    # One pooled connection per database, given up on after 0.2 s (the default waits 30 s).
    return {"SQLALCHEMY_ENGINE_OPTIONS": {"hide_parameters": True, "pool_size": 1, "max_overflow": 0,
                                          "pool_timeout": 0.2}}


@pytest.mark.parametrize("headers", [{}, {"HX-Request": "true"}])
def test_a_page_asked_while_every_connection_is_taken_answers_busy_and_the_next_one_works(app, alice, messaging_on, headers):
    db.session.remove()  # the test's own session gives its connection back
    client = app.test_client()
    client.login("alice")
    taken = db.engines[None].connect()  # the pool's only connection, held by "another request"
    try:
        response = client.get("/messages", headers=headers)
    finally:
        taken.close()
    assert response.status_code == 503
    assert response.headers["Retry-After"] == "5"
    page = response.get_data(as_text=True)
    assert "Busy" in page and "try again in a few seconds" in page
    assert "Traceback" not in page and "QueuePool" not in page
    assert client.get("/messages").status_code == 200


def test_the_api_answers_busy_as_a_problem(app, alice, messaging_on):
    from api_helpers import token_for

    token = token_for(alice)
    client = app.test_client()
    db.session.remove()
    taken = db.engines[None].connect()
    try:
        response = client.get("/api/v1/conversations", headers={"Authorization": f"Bearer {token}"})
    finally:
        taken.close()
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    assert response.mimetype == "application/problem+json"
    assert response.get_json()["status"] == 503 and "QueuePool" not in response.get_data(as_text=True)


@pytest.mark.parametrize("api", [False, True])
def test_a_database_that_refuses_new_connections_answers_busy_not_a_500(app, alice, messaging_on, api):
    """PostgreSQL at max_connections ("sorry, too many clients already") or a database that is
    down: the driver refuses to connect. That is a 503 with Retry-After, like a full pool."""
    from sqlalchemy import event

    from api_helpers import token_for

    headers = {"Authorization": f"Bearer {token_for(alice)}"} if api else {}
    db.session.remove()  # the test's own session gives its connection back
    client = app.test_client()
    if not api:
        client.login("alice")
    engine = db.engines[None]
    engine.dispose()  # every request needs a new connection now

    def refuse(dialect, conn_rec, cargs, cparams):
        raise dialect.dbapi.OperationalError("FATAL:  sorry, too many clients already")

    event.listen(engine, "do_connect", refuse)
    try:
        response = client.get("/api/v1/conversations" if api else "/messages", headers=headers)
    finally:
        event.remove(engine, "do_connect", refuse)
    assert response.status_code == 503 and response.headers["Retry-After"] == "5"
    text = response.get_data(as_text=True)
    assert "too many clients" not in text and "Traceback" not in text
    if api:
        assert response.mimetype == "application/problem+json" and response.get_json()["status"] == 503
    else:
        assert "Busy" in text and "try again in a few seconds" in text
    assert client.get("/api/v1/conversations" if api else "/messages", headers=headers).status_code == 200
