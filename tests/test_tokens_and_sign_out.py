"""API tokens outlive "Sign out everywhere" and a password change, unless the member asks: Settings says so."""
import html

import pytest
from sqlalchemy import select

from api_helpers import ApiClient, token_for
from helpers import text
from wb.api.models import AccessToken
from wb.extensions import db

NEW_PASSWORD = "a longer, newer passphrase"
ACTIONS = {
    "sign out everywhere": ("/settings/sign-out-everywhere", {}),
    "password change": ("/settings/password", {"current_password": "correct horse battery", "new_password": NEW_PASSWORD}),
}


@pytest.fixture
def alice_with_tokens(app, alice, bob, login, messaging_on):
    """Alice signed in, with two API tokens; Bob with one of his own."""
    tokens = [token_for(alice, "phone"), token_for(alice, "script")]
    bobs = token_for(bob, "bob's")
    return login(alice), tokens, bobs


def works(app, token) -> bool:
    return ApiClient(app.test_client(), token).get("/api/v1/me").status_code == 200


def test_settings_say_tokens_are_not_affected_and_link_to_them(alice_with_tokens):
    client, _, _ = alice_with_tokens
    page = client.get("/settings")
    body = html.unescape(text(page))

    for section in ("password", "sessions"):
        part = body[body.index(f'id="{section}"'):]
        part = part[:part.index("</section>")]
        assert "API tokens are not affected" in part
        assert 'href="/settings/tokens"' in part
        assert 'type="checkbox" name="revoke_tokens" value="yes"' in part and "Also revoke my API tokens" in part
    # the new password's rules are said beside it, as at sign-up (it had none: a screen-reader newcomer)
    assert ('aria-describedby="new-password-help">\n    <p class="help" id="new-password-help">At least 8 characters, '
            'and not one of the most common passwords.</p>') in body


@pytest.mark.parametrize("action", ACTIONS, ids=ACTIONS.keys())
def test_tokens_keep_working_unless_the_box_is_ticked(app, alice_with_tokens, action):
    client, tokens, _ = alice_with_tokens
    path, form = ACTIONS[action]

    answer = client.post(path, data=form, follow_redirects=True)

    assert answer.status_code == 200
    assert "Your API tokens still work." in html.unescape(text(answer))
    assert all(works(app, token) for token in tokens)


@pytest.mark.parametrize("action", ACTIONS, ids=ACTIONS.keys())
def test_ticking_the_box_revokes_every_token_of_the_member_and_only_theirs(app, alice_with_tokens, alice, action):
    client, tokens, bobs = alice_with_tokens
    path, form = ACTIONS[action]

    answer = client.post(path, data={**form, "revoke_tokens": "yes"}, follow_redirects=True)

    assert answer.status_code == 200
    assert "Your API tokens are revoked (2)." in html.unescape(text(answer))
    assert not any(works(app, token) for token in tokens)
    assert works(app, bobs)
    db.session.expire_all()
    assert all(row.revoked_at for row in db.session.scalars(select(AccessToken).where(AccessToken.user_id == alice.id)))
    assert ">phone<" not in text(client.get("/settings/tokens"))


def test_a_refused_password_change_revokes_nothing(app, alice_with_tokens):
    client, tokens, _ = alice_with_tokens

    answer = client.post("/settings/password", data={"current_password": "wrong", "new_password": NEW_PASSWORD,
                                                     "revoke_tokens": "yes"})

    assert answer.status_code == 400
    assert 'name="revoke_tokens" value="yes"' in text(answer) and "checked" in text(answer)  # the choice is kept
    assert all(works(app, token) for token in tokens)
