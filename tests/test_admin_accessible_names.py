"""Admin → Members read out whom each button acts on (outside testers: "Suspend", "Make admin" and
"Approve" named nobody, unlike "Erase Alice Moreno…"), under a header that says what the column is."""
from helpers import text


def test_each_member_action_names_the_member_and_the_column_is_headed(admin, bob, make_user, login):
    make_user("paula", display_name="Paula Pending", status="pending")
    page = text(login(admin).get("/admin/members"))
    assert "<th>Actions</th>" in page
    # aria-label, not a hidden span: Chromium read "Suspend : Bob", the span a block of its own (a re-check tester)
    for words in ('aria-label="Suspend Bob">Suspend</button>', 'aria-label="Make admin, Bob">Make admin</button>',
                  'aria-label="Approve Paula Pending">Approve</button>'):
        assert words in page, words
    assert "You (your own account is in Settings)" in page  # the admin's own row, not an empty cell
