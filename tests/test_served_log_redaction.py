"""A token sent in a query string is refused, and the served server's log keeps no copy of it."""
import logging
import time
import urllib.request

import pytest
from served import Member, Server

from api_helpers import token_for
from wb.extensions import db
from wb.logging_setup import redact_credentials

pytestmark = pytest.mark.slow


def wait_for_line(server, fragment, seconds=20) -> str:
    """The server's log once a line holding `fragment` is written to it."""
    deadline = time.monotonic() + seconds
    while fragment not in server.log():
        assert time.monotonic() < deadline, f"{fragment!r} never reached the log:\n{server.log()[-2000:]}"
        time.sleep(0.1)
    return server.log()


def test_credentials_in_query_strings_never_reach_the_served_log(tmp_path, database_urls, app, alice, messaging_on):
    token = token_for(alice)
    db.session.commit()
    secrets = [token, "k3y-v4lue-77", "plain-t0ken-88", "r3ferer-s3cret", "c0nf1rm-s3cret", "uns-s3cret", "1nv1te-s3cret", "r3set-s3cret"]
    with Server(tmp_path, database_urls, workers=2) as server:
        visitor = Member(server.url)
        refused = visitor.get(f"/api/v1/me?access_token={token}&keep=visible")
        visitor.get("/healthz?key=k3y-v4lue-77&TOKEN=plain-t0ken-88&after=1")
        visitor.get(f"/healthz?api_key={token}&n=2")
        visitor.get(f"/healthz?whatever={token}&n=3")  # an access token under any name
        # the signed links of emails, and an invite
        visitor.get("/settings/email/confirm/c0nf1rm-s3cret")
        visitor.get("/email/unsubscribe/uns-s3cret")
        visitor.get("/register?invite=1nv1te-s3cret")
        visitor.get("/reset/r3set-s3cret")  # a password reset link
        # a Referer naming a token, as a page linking here might send
        visitor.opener.open(urllib.request.Request(
            f"{server.url}/healthz?marker=last",
            headers={"Referer": "https://elsewhere.example/?x=1&access_token=r3ferer-s3cret"}))
        log = wait_for_line(server, "marker=last")

    assert refused.status == 400  # a token in the address is refused outright
    assert "/api/v1/me?access_token=[redacted]&keep=visible" in log
    assert "/healthz?key=[redacted]&TOKEN=[redacted]&after=1" in log
    assert "/healthz?api_key=[redacted]&n=2" in log and "/healthz?whatever=[redacted]&n=3" in log
    assert "/settings/email/confirm/[redacted]" in log and "/email/unsubscribe/[redacted]" in log
    assert "/register?invite=[redacted]" in log and "/reset/[redacted]" in log
    assert "access_token=[redacted]" in log.split("marker=last", 1)[1].splitlines()[0]  # the Referer
    for secret in secrets:
        assert secret not in log


def test_what_members_search_for_never_reaches_the_served_log(tmp_path, database_urls, app, alice, messaging_on):
    """"GET /messages/new?q=Lind" and "/members?q=Carol" told whoever reads the access log whom a
    practice's client looked for (an outside tester). Searches, and the circle or inviter a list is
    narrowed to, are redacted as credentials are; the rest of the line stays."""
    from conftest import PASSWORD

    searched = ["Lind", "Carol", "Clients-of-Dr-Moss", "petra", "Z%C3%B6e"]
    with Server(tmp_path, database_urls, workers=2) as server:
        member = Member(server.url)
        assert member.sign_in("alice", PASSWORD).status == 302
        assert member.get("/messages/new?q=Lind", htmx=True).status == 200
        member.get("/members?q=Carol&circle=Clients-of-Dr-Moss")  # (the directory is off here: 404, logged all the same)
        member.get("/admin/members?invited_by=petra&q=Z%C3%B6e")  # an admin's page: a member is refused
        member.get("/login?next=/members%3Fq%3DCarol%26page%3D2")  # a search inside a ?next= link
        member.opener.open(urllib.request.Request(
            f"{server.url}/healthz?marker=last", headers={"Referer": f"{server.url}/members?q=Lind"}))
        log = wait_for_line(server, "marker=last")

    assert "/messages/new?q=[redacted] " in log
    assert "/members?q=[redacted]&circle=[redacted] " in log
    assert "/admin/members?invited_by=[redacted]&q=[redacted] " in log
    assert "/login?next=/members%3Fq%3D[redacted]%26page%3D2 " in log
    assert "/members?q=[redacted]" in log.split("marker=last", 1)[1].splitlines()[0]  # the Referer
    for words in searched:
        assert words not in log


def test_the_apps_own_log_lines_are_redacted_too(app):
    [handler] = [h for h in logging.getLogger("wb").handlers if getattr(h, "_wb", False)]
    record = logging.LogRecord("wb.api", logging.INFO, __file__, 1, "refused %s", ("/api/v1/me?token=s3cret",), None)
    record.path = "/x?access_token=wbpat_abc&n=1"

    line = handler.format(record)

    assert "s3cret" not in line and "wbpat_abc" not in line
    assert "/api/v1/me?token=[redacted]" in line and "path=/x?access_token=[redacted]&n=1" in line


@pytest.mark.parametrize("raw, redacted", [
    ("GET /a?access_token=abc HTTP/1.1", "GET /a?access_token=[redacted] HTTP/1.1"),
    ("/a?x=1&Token=a%2Fb%3D&y=2", "/a?x=1&Token=[redacted]&y=2"),
    ("/a?key=1;keep=2#frag", "/a?key=[redacted];keep=2#frag"),
    ("/next%3Faccess_token%3Dabc%26x%3D1", "/next%3Faccess_token%3D[redacted]%26x%3D1"),
    ("/a?monkey=1&tokens=2&keys=3&api_key=4", "/a?monkey=1&tokens=2&keys=3&api_key=[redacted]"),
    ("/a?apikey=1&auth-token=2&csrf_token=3&invite=4&turkey=5", "/a?apikey=[redacted]&auth-token=[redacted]"
     "&csrf_token=[redacted]&invite=[redacted]&turkey=5"),
    ("/a?q=wbpat_Ab-9_z&x=1 Bearer wbpat_c0D", "/a?q=[redacted]&x=1 Bearer [redacted]"),
    ('"GET /settings/email/confirm/eyJ.a-b_c HTTP/1.1"', '"GET /settings/email/confirm/[redacted] HTTP/1.1"'),
    ("/email/unsubscribe/abc.def?x=1", "/email/unsubscribe/[redacted]?x=1"),
    ('"POST /reset/Ab-9_zQ HTTP/1.1"', '"POST /reset/[redacted] HTTP/1.1"'),
    ("/admin/members/bob/reset-link", "/admin/members/bob/reset-link"),
    ("token=abc&b=1", "token=[redacted]&b=1"),  # a query string alone (gunicorn's %(q)s)
    ("monkey=1&b=2", "monkey=1&b=2"),
    ("GET /members?q=Carol+Lind&circle=Clients HTTP/1.1", "GET /members?q=[redacted]&circle=[redacted] HTTP/1.1"),
    ("q=Lind", "q=[redacted]"),
    ("/admin/members?invited_by=petra", "/admin/members?invited_by=[redacted]"),
    ("/faq=1&seq=2&Q=x&circles=3", "/faq=1&seq=2&Q=[redacted]&circles=3"),
])
def test_only_credential_and_search_parameters_are_redacted(raw, redacted):
    assert redact_credentials(raw) == redacted


def test_gunicorns_atoms_are_redacted_and_escaped_as_the_format_reads_them():
    """Any atom a custom --access-logformat names (a header, an environ entry) is redacted, then
    its quotes escaped as gunicorn does; an atom the request lacks is "-"."""
    import datetime
    from types import SimpleNamespace

    from gunicorn.config import Config

    from wb.gunicorn_logger import RedactingGunicornLogger

    config = Config()
    config.set("accesslog", "-")
    config.set("access_log_format", '"%(r)s" "%({referer}i)s" %({query_string}e)s "%(a)s" %({x-missing}i)s %(s)s')
    logger = RedactingGunicornLogger(config)
    lines = []
    logger.access_log.handlers = [logging.Handler()]
    logger.access_log.handlers[0].emit = lambda record: lines.append(record.getMessage())
    environ = {"REQUEST_METHOD": "GET", "RAW_URI": "/a?token=s3cret&b=1", "SERVER_PROTOCOL": "HTTP/1.1",
               "QUERY_STRING": "token=s3cret&b=1", "HTTP_USER_AGENT": 'odd "agent" key=1', "REMOTE_ADDR": "127.0.0.1"}
    request = SimpleNamespace(headers=[("REFERER", 'https://x.example/?access_token=r3f"x&keep=1')])
    response = SimpleNamespace(status="200 OK", sent=2, headers=[])

    logger.access(response, request, environ, datetime.timedelta(milliseconds=3))

    assert lines == ['"GET /a?token=[redacted]&b=1 HTTP/1.1" "https://x.example/?access_token=[redacted]\\"x&keep=1"'
                     ' token=[redacted]&b=1 "odd \\"agent\\" key=1" - 200']
