"""`./wb messaging stats` and the admin health page: the same figures, from one function, never content."""
import json
import re
import time

from messaging_ops_helpers import SECRET_BODY, invoke, member, take_backup
from wb.extensions import db


def test_stats_json_reports_the_figures(app, some_messages):
    result = invoke(app, "stats", "--json")
    assert result.exit_code == 0, result.output
    figures = json.loads(result.output)
    assert figures["engine"] == db.engines["messaging"].dialect.name
    assert figures["reachable"] is True and figures["enabled"] is True
    assert (figures["conversations"], figures["messages"], figures["deleted_messages"]) == (1, 3, 1)
    assert figures["members_with_unread"] == 1
    assert figures["schema_revision"]
    assert figures["size_bytes"] > 0 and figures["probe_latency_ms"] >= 0
    assert SECRET_BODY not in result.output


def test_stats_is_readable_by_default(app, some_messages):
    result = invoke(app, "stats")
    assert result.exit_code == 0, result.output
    assert re.search(r"messages\s+3 \(1 deleted", result.output)
    assert re.search(r"conversations\s+1", result.output)
    assert "schema revision" in result.output and "last backup" in result.output


def test_admin_page_shows_the_same_figures_and_never_content(app, admin, login, some_messages):
    page = login(admin).get("/admin/messaging")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    figures = json.loads(invoke(app, "stats", "--json").output)
    for name in ("conversations", "messages", "deleted_messages", "members_with_unread"):
        assert f'data-figure="{name}">{figures[name]:,}<' in html, name
    assert f'data-figure="engine">{figures["engine"]}<' in html
    assert figures["schema_revision"] in html
    assert SECRET_BODY not in html and "second message" not in html
    # No list of who talks to whom.
    for name in ("Alice", "alice", "Bob", "bob"):
        assert name not in html
    assert 'action="/admin/settings/direct_messaging"' in html
    assert 'name="next" value="/admin/messaging"' in html
    assert '>Messaging</a>' in html


def test_admin_page_is_for_admins_only(app, alice, login, client):
    assert login(alice).get("/admin/messaging").status_code == 403
    anonymous = client.get("/admin/messaging")
    assert anonymous.status_code == 302 and "/login" in anonymous.location


def test_toggle_from_the_messaging_page_returns_there_and_shows_the_latest_change(app, admin, login, messaging_on):
    admin_client = login(admin)
    response = admin_client.post("/admin/settings/direct_messaging", data={"enabled": "0", "confirmed": "1", "next": "/admin/messaging"})
    assert response.status_code == 302 and response.location == "/admin/messaging"
    html = admin_client.get("/admin/messaging").get_data(as_text=True)
    assert "Currently <strong>off</strong>" in html
    assert re.search(r"Last changed on → off by\s+<bdi>Rita Root</bdi>", html)
    settings = admin_client.get("/admin/settings").get_data(as_text=True)
    assert re.search(r"Last changed on → off by\s+<bdi>Rita Root</bdi>", settings)
    partial = admin_client.htmx("POST", "/admin/settings/direct_messaging",
                                data={"enabled": "1", "next": "/admin/messaging"}).get_data(as_text=True)
    assert re.search(r"Last changed off → on by\s+<bdi>Rita Root</bdi>", partial)
    assert 'name="next" value="/admin/messaging"' in partial


def test_the_counts_are_one_column_under_headings_that_say_each_thing_once(app, admin, login, some_messages):
    """The downloads' numbers sat in another column (a table of their own), and "Direct messaging" headed
    the switch's card and the switch (an outside admin tester). The browser test measures the column."""
    html = login(admin).get("/admin/messaging").get_data(as_text=True)
    counts = html.split('id="messaging-counts"', 1)[1].split("</section>", 1)[0]
    assert counts.count("<table") == 1
    assert 'data-figure="conversations"' in counts and 'data-figure="exports_month"' in counts
    headings = re.findall(r"<h[1-3][^>]*>\s*([^<]*?)\s*</h[1-3]>", html)
    assert headings.count("Direct messaging") == 1 and headings[:3] == ["Admin", "On or off", "Direct messaging"]


def test_backup_age_warns_past_the_cadence(sqlite_app, pair):
    admin = member("boss", role="admin")
    client = sqlite_app.test_client()
    page = client.get("/login").get_data(as_text=True)
    token = re.search(r'name="csrf-token" content="([^"]+)"', page).group(1)
    client.post("/login", data={"username": "boss", "password": "correct horse battery"},
                headers={"X-CSRFToken": token})
    assert admin.is_admin
    assert "No backup has been taken yet" in client.get("/admin/messaging").get_data(as_text=True)
    take_backup(sqlite_app)
    fresh = client.get("/admin/messaging").get_data(as_text=True)
    assert "cadence" not in fresh.split('id="messaging-storage"')[1].split("</section>")[0]
    assert re.search(r'<time datetime="[^"]+">1 min ago</time>', fresh)  # not "0.0 hours ago"
    sqlite_app.config["MESSAGING_BACKUP_CADENCE_HOURS"] = 0.0001
    time.sleep(0.5)
    assert "older than the 0.0001-hour cadence" in client.get("/admin/messaging").get_data(as_text=True)
    stats = invoke(sqlite_app, "stats").output
    assert "WARNING: older than" in stats and re.search(r"\(1 min ago\)", stats)  # not "(0.0 h ago)"


def test_an_operator_switches_messaging_from_the_command_line(app, alice, messaging_on):
    """During an incident an operator had only the web page to switch messaging with (a tester)."""
    from sqlalchemy import select as select_

    from wb.flags import is_enabled
    from wb.messaging.models import LiveEvent
    from wb.models import AuditEvent

    from sqlalchemy import func

    before = db.session.scalar(select_(func.max(LiveEvent.id))) or 0
    off = invoke(app, "switch", "off")
    assert off.exit_code == 0 and "Messaging is now off: stored messages are kept" in off.output
    db.session.expire_all()
    assert is_enabled("direct_messaging") is False
    # open pages hear of it, as when an admin switches it
    assert db.session.scalars(select_(LiveEvent.kind).where(LiveEvent.id > before)).all() == ["messaging"]
    event = db.session.scalars(select_(AuditEvent).where(AuditEvent.action == "flag.changed")).all()[-1]
    assert (event.subject, event.new_value, event.actor_id) == ("direct_messaging", "off", None)
    assert "already off" in invoke(app, "switch", "off").output
    assert invoke(app, "switch", "on").exit_code == 0
    db.session.expire_all()
    assert is_enabled("direct_messaging") is True
    assert invoke(app, "switch", "maybe").exit_code != 0


def test_a_damaged_database_is_said_plainly_by_stats_and_the_admin_page(sqlite_app, pair):
    """A page written over: the admin page was a 500 and `stats` a traceback, and `stats --json` said
    "reachable": true beside an error (an operator tester)."""
    from conftest import WBClient
    from messaging_ops_helpers import assert_one_line_error, converse, damage_pages, messages_btrees

    converse(*pair, [f"message {number} " + "x" * 300 for number in range(40)])
    member("boss", role="admin", status="active")
    assert damage_pages(*messages_btrees())

    result = invoke(sqlite_app, "stats")
    assert_one_line_error(result, "is damaged", "restore a backup", "./wb messaging restore")
    assert re.search(r"damaged\s+yes", result.output)
    as_json = invoke(sqlite_app, "stats", "--json")
    assert as_json.exit_code == 1 and "Traceback" not in as_json.output
    figures = json.loads(as_json.output.split("\nError:")[0])
    assert (figures["ok"], figures["damaged"], figures["messages"]) == (False, True, None)
    assert "is damaged" in figures["error"]

    sqlite_app.test_client_class = WBClient
    admin = sqlite_app.test_client()
    admin.login("boss", "correct horse battery")
    page = admin.get("/admin/messaging")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Damaged:" in html and "<code>./wb messaging restore PATH</code>" in html
    assert "Counts appear once the messaging database is reachable and mended." in html


def test_readyz_is_not_ready_once_the_app_has_found_the_file_damaged(sqlite_app, pair):
    """A page of the messages table written over: /messages answered 503 "Messages unavailable" and
    /readyz went on saying ready (an operator tester). Once a request finds the damage, it doesn't;
    a restored backup (a new file) is ready again."""
    from conftest import WBClient
    from messaging_ops_helpers import converse, damage_pages, messages_btrees, take_backup

    conversation = converse(*pair, [f"message {number} " + "x" * 300 for number in range(40)])
    backup_path = take_backup(sqlite_app)
    assert damage_pages(*messages_btrees())
    sqlite_app.test_client_class = WBClient
    ann = sqlite_app.test_client()
    ann.login("ann", "correct horse battery")

    thread = ann.get(f"/messages/{conversation.id}")
    assert thread.status_code == 503 and "Messages unavailable" in thread.get_data(as_text=True)
    ready = ann.get("/readyz")
    assert ready.status_code == 503 and ready.get_json()["status"] == "unavailable"
    assert ready.get_json()["databases"]["messaging"] == {"ok": False, "engine": "sqlite", "error": "Damaged"}
    assert ready.get_json()["databases"]["main"]["ok"] is True

    restored = invoke(sqlite_app, "restore", str(backup_path), "--yes")
    assert restored.exit_code == 0, restored.output
    assert ann.get("/readyz").status_code == 200
    assert ann.get(f"/messages/{conversation.id}").status_code == 200
