"""database.read_alone: the idle checks' one read, compiled by SQLAlchemy and run on the driver's
cursor, answers exactly what SQLAlchemy's own execution answers (values and types), on SQLite
and on PostgreSQL (the suite's second pass)."""
import pytest
from sqlalchemy import bindparam, literal_column, select, table
from sqlalchemy.exc import DBAPIError

from wb.database import read_alone
from wb.extensions import db
from wb.messaging.inbox import _badge_statement, _list_poll_statement
from wb.messaging.models import ConversationMembership
from wb.messaging.reads import _poll_state_statement
from wb.models import User


@pytest.fixture
def talked(app, alice, bob, some_messages):
    """Alice and Bob with a conversation, messages in it and some of them unread."""
    membership = db.session.scalars(select(ConversationMembership).where(ConversationMembership.user_id == alice.id)).first()
    return alice, bob, membership.conversation_id


def both_ways(statement, values):
    """(read_alone's rows, SQLAlchemy's rows), inside a GET request as the idle checks run."""
    with db.engines[None].connect() as connection:
        expected = connection.execute(statement, values).all()
    return read_alone(statement, values, User), expected


def test_the_badge_check_reads_what_sqlalchemy_reads(app, talked):
    alice, _bob, _cid = talked
    with app.test_request_context("/messages/badge", method="GET"):
        got, expected = both_ways(_badge_statement(), {"member_id": alice.id})
    assert [tuple(row) for row in got] == [tuple(row) for row in expected]
    assert got[0].unread_total == expected[0].unread_total and got[0].status == "active"
    assert [type(value) for value in got[0]] == [type(value) for value in expected[0]]


def test_the_list_check_reads_what_sqlalchemy_reads(app, talked):
    alice, _bob, _cid = talked
    with app.test_request_context("/messages/list", method="GET"):
        got, expected = both_ways(_list_poll_statement(), {"member_id": alice.id})
    assert [tuple(row) for row in got] == [tuple(row) for row in expected]
    assert got[0].newest_activity_at is not None
    assert [type(value) for value in got[0]] == [type(value) for value in expected[0]]


def test_the_poll_check_reads_both_members_rows(app, talked):
    alice, bob, cid = talked
    with app.test_request_context(f"/messages/{cid}/poll", method="GET"):
        got, expected = both_ways(_poll_state_statement(), {"conversation_id": cid})
    assert sorted(tuple(row) for row in got) == sorted(tuple(row) for row in expected)
    assert {row.user_id for row in got} == {alice.id, bob.id}


def test_nobody_reads_as_no_rows(app, talked):
    with app.test_request_context("/messages/badge", method="GET"):
        assert read_alone(_badge_statement(), {"member_id": 10**9}, User) == []


def test_a_driver_error_arrives_as_sqlalchemys_error(app):
    missing = select(literal_column("id")).select_from(table("no_such_table")).where(literal_column("id") == bindparam("member_id"))
    with app.test_request_context("/messages/badge", method="GET"):
        with pytest.raises(DBAPIError):
            read_alone(missing, {"member_id": 1}, User)


def test_statements_whose_sql_changes_per_call_are_refused(app):
    in_list = select(User.id).where(User.id.in_(bindparam("ids", expanding=True)))
    with app.test_request_context("/", method="GET"):
        with pytest.raises(ValueError):
            read_alone(in_list, {"ids": [1, 2]}, User)
