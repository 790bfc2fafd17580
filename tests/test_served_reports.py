"""Reporting a member many times at once, through the API and the web form, on a two-worker `wb run`
(gevent), on this pass's databases (SQLite, or PostgreSQL in CI's second pass): one open report per
reporter, member and reason, every acknowledged note in it, the note's length kept, one report
counted.

An outside tester's twelve at once filed two open reports, each counting against the day, and
answered "your note is added" for twelve notes of which the report held ten.
"""
import json
import os
import urllib.error
import uuid
import urllib.request
from concurrent.futures import ThreadPoolExecutor

import pytest
from api_helpers import token_for
from served import Member, Server
from sqlalchemy import select

from conftest import PASSWORD
from wb.extensions import db
from wb.messaging.models import REPORT_NOTE_MAX, Report

pytestmark = pytest.mark.slow

AT_ONCE = 12
API_REASONS = ("spam", "scam", "safety", "other")  # a round of AT_ONCE each; harassment by the web form


def in_parallel(calls):
    """Run the zero-argument calls at once; their answers, in order."""
    with ThreadPoolExecutor(max_workers=len(calls)) as pool:
        return [future.result() for future in [pool.submit(call) for call in calls]]


def storage_settings() -> dict:
    """The limiter storage this pass counts in: the default (the main database), or CI's Redis in its
    second pass, under a prefix of this test's own (as test_served_limits does)."""
    url = os.environ.get("WB_TEST_RATELIMIT_STORAGE_URL")
    return {"WB_RATELIMIT_STORAGE_URL": url, "WB_RATELIMIT_KEY_PREFIX": f"wbserved-{uuid.uuid4().hex[:12]}"} if url else {}


def api_report(server, token, username, reason, note):
    """POST /api/v1/reports with a personal access token: (status, parsed body)."""
    request = urllib.request.Request(
        f"{server.url}/api/v1/reports", method="POST",
        data=json.dumps({"username": username, "reason": reason, "note": note}).encode(),
        headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=30) as response:
            return response.status, json.loads(response.read())
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read())


def reports_about(member, reason=None):
    db.session.expire_all()
    query = select(Report).where(Report.reported_id == member.id).order_by(Report.created_at, Report.id)
    return list(db.session.scalars(query if reason is None else query.where(Report.reason == reason)))


def notes_in(report):
    return report.note.split("\n\n")


@pytest.fixture
def people(app, make_user, messaging_on):
    """Ann reports; sock1 is reported; two more members for the day's count. Committed for the server."""
    found = {name: make_user(name) for name in ("ann", "sock1", "sock2", "sock3")}
    db.session.commit()
    return found


def test_many_reports_at_once_file_one_per_reason_keep_every_note_and_count_once(tmp_path, database_urls, people):
    token = token_for(people["ann"])
    with Server(tmp_path, database_urls, workers=2, WB_REPORT_RATE_LIMIT="6 per day", **storage_settings()) as server:
        answers = {}
        for reason in API_REASONS:  # the API, as the tester sent them
            answers[reason] = in_parallel([lambda reason=reason, i=i: api_report(
                server, token, "sock1", reason, f"{reason} note {i:02d}") for i in range(AT_ONCE)])
        browser = Member(server.url)
        assert browser.sign_in("ann", PASSWORD).status == 302
        # The web form, the same way: each answer leads back with "your note is added" (or thanks).
        web = in_parallel([lambda i=i: browser.post("/people/sock1/report", {
            "reason": "harassment", "note": f"harassment note {i:02d}"}) for i in range(AT_ONCE)])
        # Five reports counted of six: one more may be filed today, and then none.
        sixth = api_report(server, token, "sock2", "spam", "")
        seventh = api_report(server, token, "sock3", "spam", "")
        log = server.log()

    assert " 500 " not in log, log[-3000:]
    for reason, got in answers.items():
        assert sorted(status for status, _ in got) == [200] * (AT_ONCE - 1) + [201], got
        assert len({body["id"] for _, body in got}) == 1  # every answer names the same report
    assert [answer.status for answer in web] == [302] * AT_ONCE
    for reason in (*API_REASONS, "harassment"):
        [report] = reports_about(people["sock1"], reason)  # one report, open, for each reason
        assert report.status == "open" and report.reporter_id == people["ann"].id
        assert sorted(notes_in(report)) == [f"{reason} note {i:02d}" for i in range(AT_ONCE)]
    assert sixth[0] == 201
    assert seventh[0] == 429 and "You've sent 6 reports today" in seventh[1]["detail"]


def test_notes_added_at_once_never_pass_a_notes_length_and_each_refused_one_is_told(tmp_path, database_urls, people):
    """Twelve notes of 150 characters at once: the first files the report, five more fit under it
    (150 + 5 × (2 + 150) = 910 characters), the other six are refused with the usual words and none
    of them is in it; on PostgreSQL one that didn't fit was a 500 (VARCHAR(1000))."""
    token = token_for(people["ann"])
    notes = [f"note {i:02d} " + "x" * 142 for i in range(AT_ONCE)]
    with Server(tmp_path, database_urls, workers=2, **storage_settings()) as server:
        got = in_parallel([lambda note=note: api_report(server, token, "sock1", "spam", note) for note in notes])
        log = server.log()

    assert " 500 " not in log, log[-3000:]
    assert sorted(status for status, _ in got) == [200] * 5 + [201] + [422] * 6, got
    [report] = reports_about(people["sock1"])
    assert len(report.note) == 910 <= REPORT_NOTE_MAX
    kept = set(notes_in(report))
    for note, (status, body) in zip(notes, got):
        if status == 422:
            assert note not in kept
            assert ("holds 910 characters of notes, and a report's notes hold 1,000 at most; an admin will read them. "
                    "Shorten this note to at most 88 characters to add it.") in body["detail"]
        else:
            assert note in kept
