"""The migrations build exactly the schema the models describe, in both databases."""
from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext

from wb.extensions import db


def differences(bind_key):
    with db.engines[bind_key].connect() as connection:
        context = MigrationContext.configure(connection, opts={"compare_type": False})
        return compare_metadata(context, db.metadatas[bind_key])


def test_the_main_database_matches_the_models(app):
    with app.app_context():
        assert differences(None) == []


def test_the_messaging_database_matches_the_models(app):
    with app.app_context():
        assert differences("messaging") == []


def test_the_badge_has_its_index(app):
    from sqlalchemy import inspect

    with app.app_context():
        indexes = {index["name"]: index["column_names"] for index in inspect(db.engine).get_indexes("conversation_memberships")}
    assert indexes["ix_memberships_unread"] == ["user_id", "hidden", "unread_count", "other_user_id"]
