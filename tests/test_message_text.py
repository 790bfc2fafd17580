"""Message text a member can read: links, kept line breaks, day separators, grouped times."""
import re
from datetime import datetime, timedelta

import pytest

from messaging_helpers import messages_in, send
from wb.extensions import db
from wb.messaging.message_html import linkify

NOW = datetime(2026, 11, 25, 12, 0, 0)  # a Wednesday


@pytest.fixture(autouse=True)
def fixed_now(monkeypatch):
    import wb.main.views

    monkeypatch.setattr(wb.main.views, "clock", lambda: (NOW - wb.main.views.EPOCH).total_seconds())


def link(url):
    return f'<a href="{url}" rel="nofollow noopener ugc" target="_blank">{url}</a>'


def test_a_url_becomes_a_link_that_opens_apart():
    assert linkify("see https://example.org/page?x=1 now") == f"see {link('https://example.org/page?x=1')} now"
    assert linkify("http://example.org") == link("http://example.org")


@pytest.mark.parametrize("text", [
    "javascript:alert(1)",
    "data:text/html,<script>alert(1)</script>",
    "ftp://example.org/file",
    "www.example.org",
])
def test_other_schemes_stay_plain_escaped_text(text):
    html = str(linkify(text))
    assert "<a" not in html and "<script" not in html


def test_markup_stays_escaped():
    html = str(linkify('<script>alert(1)</script> <a href="javascript:alert(1)">x</a>'))
    assert html == ("&lt;script&gt;alert(1)&lt;/script&gt; "
                    "&lt;a href=&#34;javascript:alert(1)&#34;&gt;x&lt;/a&gt;")


def test_a_url_cannot_carry_markup_or_quotes_into_its_link():
    html = str(linkify('https://example.org/"onmouseover="alert(1) https://example.org/<b>x</b>'))
    assert html == (f'{link("https://example.org/")}&#34;onmouseover=&#34;alert(1) '
                    f'{link("https://example.org/")}&lt;b&gt;x&lt;/b&gt;')


@pytest.mark.parametrize("text, url, after", [
    ("Look: https://example.org/a.", "https://example.org/a", "."),
    ("https://example.org/a, and", "https://example.org/a", ", and"),
    ("(see https://example.org/a)", "https://example.org/a", ")"),
    ("https://en.wikipedia.org/wiki/Foo_(bar)", "https://en.wikipedia.org/wiki/Foo_(bar)", ""),
    ("(https://en.wikipedia.org/wiki/Foo_(bar)).", "https://en.wikipedia.org/wiki/Foo_(bar)", ")."),
    ("Really? https://example.org/?!", "https://example.org/", "?!"),
])
def test_trailing_punctuation_is_not_part_of_the_link(text, url, after):
    assert str(linkify(text)).endswith(link(url) + after)


@pytest.mark.parametrize("text, shown", [
    ("https://paypaI.com/login", "https://paypai.com/login"),  # a capital I passed for an l
    ("https://\u0430pple.com/login", "https://xn--pple-43d.com/login"),  # a Cyrillic а passed for an a
    ("HTTPS://Example.ORG/Path", "https://example.org/Path"),
    ("http://127.0.0.1:5302/messages", "http://127.0.0.1:5302/messages"),
])
def test_a_links_host_shows_as_the_browser_reads_it(text, shown):
    """Look-alike hosts were drawn exactly as written (a marketplace tester)."""
    assert str(linkify(text)) == link(shown)


@pytest.mark.parametrize("text", ["http://127.0.0.1:5302@evil.example/login", "https://user:pw@example.org/",
                                  "http://example.org:notaport/", "https://paypal.com%40evil.example/"])
def test_a_url_naming_someone_before_its_host_is_no_link(text):
    """http://127.0.0.1:5302@evil.example/login goes to evil.example."""
    html = str(linkify(text))
    assert "<a" not in html and html == text


@pytest.mark.parametrize("invisible", ["\u200b", "\u200c", "\u200d", "\u2060", "\ufeff", "\u00ad",
                                       # and those a re-check tester still found inside: a tag character, variation
                                       # selectors, Khmer's and Mongolian's invisible vowels and separators, the
                                       # Arabic letter mark, the old shaping controls, and letters drawn as a blank
                                       "\U000e0041", "\ufe0f", "\u17b4", "\u034f", "\u180b", "\u180e", "\u061c",
                                       "\u206a", "\U000e0100", "\u3164", "\uffa0", "\u1160"])
def test_a_link_ends_at_a_character_that_draws_nothing(invisible):
    """"https://evil.example/pay.\u200b.com" drew as pay..com with the gap inside the link (a marketplace tester)."""
    html = str(linkify(f"https://evil.example/pay.{invisible}.com"))
    assert html == link("https://evil.example/pay") + f".{invisible}.com"


def test_an_ampersand_is_escaped_once_in_href_and_text():
    html = str(linkify("https://example.org/?a=1&b=2"))
    assert html == link("https://example.org/?a=1&amp;b=2")
    assert "&amp;amp;" not in html


def test_links_show_in_the_thread_and_line_breaks_are_kept(chat):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "first line\nhttps://example.org/a?b=1&c=2.\njavascript:alert(1)")
    page = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert ('<p class="body" dir="auto">first line\n'
            f'{link("https://example.org/a?b=1&amp;c=2")}.\njavascript:alert(1)</p>') in page


def set_times(cid, *moments):
    for message, moment in zip(messages_in(cid), moments):
        message.created_at = moment
    db.session.commit()


def separators(page):
    return re.findall(r'<li class="day-separator"><span>([^<]*)</span></li>', page)


def test_day_separators_come_before_the_first_message_of_each_day(chat):
    alice_client, bob_client, cid = chat
    for body in ("last year", "last week", "again that day", "yesterday", "today"):
        send(alice_client, cid, body)
    set_times(cid, datetime(2025, 11, 23, 9), datetime(2026, 11, 16, 9), datetime(2026, 11, 16, 18),
              NOW - timedelta(days=1), NOW - timedelta(hours=1))
    page = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert separators(page) == ["23 November 2025", "Monday 16 November", "Yesterday", "Today"]
    # Each separator sits right before the first message of its day, which carries its day.
    assert re.search(r'<span>Monday 16 November</span></li>\n<li class="message theirs" id="message-\d+"'
                     r' data-id="\d+" data-day="2026-11-16"', page)


def test_messages_within_five_minutes_from_one_member_share_a_time_label(chat):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "one")
    send(alice_client, cid, "two")
    send(bob_client, cid, "bob answers")
    send(alice_client, cid, "three")
    send(alice_client, cid, "much later")
    start = NOW - timedelta(hours=2)
    set_times(cid, start, start + timedelta(minutes=4), start + timedelta(minutes=5),
              start + timedelta(minutes=6), start + timedelta(minutes=20))
    page = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    classes = re.findall(r'<li class="message ([^"]*)" id="message-', page)
    assert classes == ["theirs", "theirs grouped", "mine", "theirs", "theirs"]
    # The grouped message keeps its <time> for screen readers; CSS hides it from sight.
    grouped = page.split('theirs grouped"')[1].split("</li>")[0]
    assert "<time datetime=" in grouped


def test_a_poll_starts_its_run_with_its_day(chat):
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "hello")
    set_times(cid, NOW - timedelta(minutes=1))
    first = messages_in(cid)[0]
    poll = bob_client.get(f"/messages/{cid}/poll?after=0&seen=0", headers={"HX-Request": "true"})
    html = poll.get_data(as_text=True)
    assert separators(html) == ["Today"] and f'data-id="{first.id}"' in html


def test_a_screen_reader_hears_whose_each_message_is(chat):
    """Whose a message is shows by its side and colour; in words for a screen reader, before its text
    (and before "Message deleted")."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "Mine to Bob")
    send(bob_client, cid, "Bob's reply")
    page = alice_client.get(f"/messages/{cid}").get_data(as_text=True)
    bubbles = re.findall(r'<div class="bubble">(.*?)</div>', page)
    assert bubbles == [
        '<span class="visually-hidden">Your message: </span><p class="body" dir="auto">Mine to Bob</p>',
        '<span class="visually-hidden">Their message: </span><p class="body" dir="auto">Bob&#39;s reply</p>',
    ]


def test_times_and_days_are_the_viewers_own_when_their_browser_says_its_time_zone(chat):
    """Every tooltip and every ⋯ button said UTC: a neighbour in Los Angeles read the next day's date
    (an outside tester). app.js tells the server the browser's zone (the wb_tz cookie)."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "before dinner")
    # 03:00 UTC on the 25th (NOW's day in UTC) is 19:00 on the 24th in Los Angeles, where NOW is 04:00 on the 25th.
    set_times(cid, datetime(2026, 11, 25, 3, 0))
    utc = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert separators(utc) == ["Today"] and 'title="2026-11-25 03:00 UTC"' in utc
    assert "Actions for their message of 03:00: “before dinner”" in utc

    bob_client.set_cookie("wb_tz", "America/Los_Angeles")
    local = bob_client.get(f"/messages/{cid}").get_data(as_text=True)
    assert separators(local) == ["Yesterday"] and 'data-day="2026-11-24"' in local
    assert 'title="2026-11-24 19:00 PST"' in local and 'datetime="2026-11-25T03:00:00Z"' in local
    assert "Actions for their message of 19:00: “before dinner”" in local
    listed = bob_client.get("/messages").get_data(as_text=True)
    assert re.search(r'<time datetime="[^"]+Z" title="[0-9-]+ [0-9:]+ PST"', listed)  # the list's times too

    for odd in ("../../../etc/passwd", "Not/A/Real/Zone", "x" * 200, "Europe/Nowhere"):  # anything else: UTC
        bob_client.set_cookie("wb_tz", odd)
        assert 'title="2026-11-25 03:00 UTC"' in bob_client.get(f"/messages/{cid}").get_data(as_text=True)


def test_a_list_drawn_in_another_time_zone_is_not_the_one_the_tab_holds(chat):
    """The list's ETag names the zone its times are drawn in: a tab that moved zones gets the list again."""
    alice_client, bob_client, cid = chat
    send(alice_client, cid, "hello")
    first = bob_client.get("/messages/list", headers={"HX-Request": "true"})
    assert bob_client.get("/messages/list", headers={"HX-Request": "true", "If-None-Match": first.headers["ETag"]}
                          ).status_code == 304
    bob_client.set_cookie("wb_tz", "Europe/Berlin")
    moved = bob_client.get("/messages/list", headers={"HX-Request": "true", "If-None-Match": first.headers["ETag"]})
    assert moved.status_code == 200 and "CET" in moved.get_data(as_text=True)
