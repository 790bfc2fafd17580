"""The demo community `./wb demo` seeds: an admin, four members, requests, comments, conversations,
circles and one messaging rule (members reach only those who share a circle with them)."""
from sqlalchemy import select

from .extensions import db
from .flags import set_flag
from .models import Comment, HelpRequest, Invite, User

DEMO_PASSWORD = "demo-password"

MEMBERS = [
    ("admin", "Ada Admin", "Keeps the lights on. Ask me anything about how WhiteBalloon works.", "admin"),
    ("alice", "Alice Moreno", "Gardener, bike fixer, owner of too many ladders.", "member"),
    ("bob", "Bob Okafor", "Night-shift nurse. Happy to help with errands on weekends.", "member"),
    ("carol", "Carol Lind", "Retired teacher; tutoring and lending books.", "member"),
    ("dave", "Dave Ng", "Has a van. Will help you move (for pizza).", "member"),
]

REQUESTS = [
    ("alice", "Borrow a ladder this Saturday?", "My gutters are full of leaves. Mine is 3 m, I need about 5 m.",
     [("dave", "I have an extension ladder, it reaches 6 m. Saturday morning works."),
      ("alice", "Perfect, thank you! I'll bring coffee.")]),
    ("bob", "Someone to water plants next week", "I'm away Monday to Thursday. Four pots and a lemon tree.",
     [("carol", "I live two streets over, happy to do it.")]),
    ("carol", "Maths tutoring volunteers", "Looking for two people to help kids with homework on Wednesdays.",
     [("bob", "I can do every other Wednesday."), ("admin", "Pinned this on the noticeboard too.")]),
    ("dave", "Help loading a van", "Moving a sofa and a fridge on Sunday at 10.", []),
]

CONVERSATIONS = [
    ("alice", "dave", ["Hi Dave, about the ladder: what time suits you?", "Around 9? I'll drop it off.",
                       "Great, see you then!"]),
    ("bob", "carol", ["Thanks again for offering to water the plants.", "No trouble at all. Where's the key?"]),
    # Written before the rule below: Alice shares no circle with Carol, yet may reply.
    ("carol", "alice", ["Hi Alice, I'm coordinating the street party. Could we borrow a ladder for the bunting?"]),
]

CIRCLES = [("Elm Street", ["alice", "dave"]), ("Oak Street", ["bob", "carol"]), ("Coordinators", ["admin", "carol"])]

# Who sees the rule's prompt, and where (printed by `./wb demo`).
PROMPT_HINT = ("alice sees the messaging rule: Bob's profile says why she can't start a conversation with him "
               "(no circle in common), while she can still reply to Carol, who wrote first.")


def demo_hint_holds() -> bool:
    """Whether PROMPT_HINT is still true of this community: alice may not start with bob for want of a
    shared circle, and may write to carol."""
    from .messaging import rules

    alice, bob, carol = (User.by_username(name) for name in ("alice", "bob", "carol"))
    if None in (alice, bob, carol):
        return False
    return rules.decide_pair(alice, bob).reason == "reach" and rules.decide_pair(alice, carol).may_write


def demo_logins() -> list[tuple[str, bool]]:
    """The demo's accounts that still sign in with DEMO_PASSWORD, each with whether it is an admin:
    "password for all" was printed after a member had changed theirs (an outside operator)."""
    logins = []
    for username, *_ in MEMBERS:
        member = User.by_username(username)
        if member is not None and member.deleted_at is None and member.status == "active" \
                and member.check_password(DEMO_PASSWORD):
            logins.append((username, member.is_admin))
    return logins


def seed_demo() -> bool:
    """Seed an instance that has no members yet; returns False when it has some (the demo's, or
    others'). Not by the username "admin": once that account was erased, seeding again failed on
    the others' usernames (an outside operator)."""
    if db.session.scalar(select(User.id).limit(1)) is not None:
        return False
    users = {}
    for username, display_name, bio, role in MEMBERS:
        user = User(username=username, display_name=display_name, bio=bio, role=role, status="active")
        user.set_password(DEMO_PASSWORD)
        db.session.add(user)
        users[username] = user
    db.session.flush()
    for author, title, body, comments in REQUESTS:
        request = HelpRequest(author=users[author], title=title, body=body)
        db.session.add(request)
        for commenter, text in comments:
            db.session.add(Comment(author=users[commenter], request=request, body=text))
    Invite.issue(creator=users["admin"], max_uses=1, expires_days=14)  # as Invite makes them: it was listed "never expires" under "expires after 14 days" (a tester)
    db.session.commit()
    set_flag("direct_messaging", True, actor=users["admin"])
    _seed_conversations(users)
    _seed_circles(users["admin"])
    return True


def _seed_circles(admin) -> None:
    """Two streets and the coordinators, and the "organisation" rule: reach only a shared circle."""
    from .circles import service as circles
    from .messaging.rule_changes import set_reach

    for name, usernames in CIRCLES:
        circles.add_members(circles.create(name, actor=admin), usernames, actor=admin)
    set_reach(True, actor=admin)


def _seed_conversations(users) -> None:
    from .messaging.models import Message
    from .messaging.conversations import create_conversation, ensure_memberships
    from .messaging.reconcile import reconcile_conversation
    from .messaging.writes import mark_read

    for first, second, lines in CONVERSATIONS:
        a, b = users[first], users[second]
        conversation, _ = create_conversation(a.id, b.id)  # numbered at random, as every conversation is
        for index, text in enumerate(lines):
            sender = a if index % 2 == 0 else b
            db.session.add(Message(conversation_id=conversation.id, sender_id=sender.id, body=text))
        db.session.commit()
        ensure_memberships(conversation)
        reconcile_conversation(conversation)
        db.session.commit()
        # Whoever wrote last has read what came before (as a reply does): no "You: ..." row
        # beside an unread count.
        mark_read(a if len(lines) % 2 else b, conversation)


def unused_invite_url() -> str:
    """A registration link for an invite nobody has used yet and that works as a plain one would: no
    approval to wait for, no circle (created if needed). Any invite with room left was printed as
    "unused" after a restart: one made on the command line, a use taken, needing approval (a tester)."""
    candidates = db.session.scalars(select(Invite).where(
        Invite.uses == 0, Invite.auto_approve.is_(True), Invite.circle_id.is_(None)).order_by(Invite.id))
    invite = next((candidate for candidate in candidates if candidate.problem() is None), None)
    if invite is None:
        invite = Invite.issue(max_uses=1)
        db.session.commit()
    return f"/register?invite={invite.token}"
