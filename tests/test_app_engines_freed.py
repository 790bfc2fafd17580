"""An app's database engines go with the app: a process that makes apps one after another (the test
suite, a script) doesn't keep every engine it ever made, with its pool and compiled statements."""
import gc
import weakref

from conftest import _config, _empty_all_tables
from messaging_ops_helpers import converse, member
from wb import create_app
from wb.extensions import db
from wb.flags import ensure_flags


def _use_an_app_and_drop_it(database_urls) -> list:
    app = create_app(_config(database_urls, RATELIMIT_STORAGE_URI="memory://"))
    with app.app_context():
        ensure_flags()
        # The ORM's writes on both databases: its mappers keep compiled statements per dialect, for good.
        converse(member("alice"), member("bob"), ["Hello"])
        engines = [weakref.ref(engine) for engine in db.engines.values()]
        db.session.remove()
        _empty_all_tables()
        for engine in db.engines.values():
            engine.dispose()
    return engines


def test_an_apps_engines_are_freed_with_it(database_urls):
    engines = _use_an_app_and_drop_it(database_urls)
    for _ in range(3):  # the pool's finalizers let go of each engine's connections on the first
        gc.collect()
    assert len(engines) == 2 and [engine() for engine in engines] == [None, None]
