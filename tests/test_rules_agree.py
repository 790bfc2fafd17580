"""The rules' two forms agree for every pair: the one-pair decision (buttons, opening, sending, the
compose box, the API) and the set-based SQL (the search), on random communities.

Hypothesis draws members (staff or not; active, pending, suspended or deleted; each member's
"who can start" setting and "Pause messages"), circles and who is in them, the community's rules
(starters, reach, protected circles, whom they are open to and whether their own members start), blocks either way, and
conversations with a message or only opened (by one member or both).
"""
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import delete, select

from wb.circles.models import Circle, CircleMember, MessagingRule
from wb.extensions import db, kept_after_commit
from wb.messaging import reads, rules
from wb.messaging.conversations import ensure_memberships
from wb.messaging.metadata import record_send
from wb.messaging.models import Block, Conversation, ConversationMembership, Message
from wb.models import User, utcnow

AGREE = settings(max_examples=50, deadline=None, database=None,
                 suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])

ORDINARY = {"role": "member", "status": "active", "deleted": False, "message_from": "rules", "paused": False}
# Half the members are ordinary, so that most pairs get as far as the start rules.
MEMBER = st.one_of(st.just(ORDINARY), st.fixed_dictionaries({
    "role": st.sampled_from(["member", "member", "admin"]),
    "status": st.sampled_from(["active", "active", "active", "pending", "suspended"]),
    "deleted": st.sampled_from([False, False, False, False, True]),
    "message_from": st.sampled_from(["rules", "circles", "nobody"]),
    "paused": st.sampled_from([False, False, True]),
}))


def forget_everyone():
    """Each example starts from an empty community (the flags stay)."""
    for model in (Message, Conversation, ConversationMembership, Block, MessagingRule, CircleMember, Circle, User):
        db.session.execute(delete(model))
    db.session.commit()


def ids(values, names) -> str:
    return ",".join(str(names[value]) for value in sorted(values))


def build(data) -> tuple[list, list]:
    """A random community in the databases: (members, conversations)."""
    forget_everyone()
    drawn = data.draw(st.lists(MEMBER, min_size=3, max_size=5), label="members")
    members = []
    for i, account in enumerate(drawn):
        user = User(username=f"member{i}", display_name=f"Member {i}", password_hash="-", role=account["role"],
                    status=account["status"], message_from=account["message_from"], messages_paused=account["paused"],
                    deleted_at=utcnow() if account["deleted"] else None)
        db.session.add(user)
        members.append(user)
    everyone = range(len(members))
    circle_count = data.draw(st.sampled_from([2, 1, 3, 0]), label="circles")
    circles = [Circle(name=f"Circle {c}", name_key=f"circle {c}") for c in range(circle_count)]
    db.session.add_all(circles)
    db.session.flush()
    circle_ids = {c: circle.id for c, circle in enumerate(circles)}
    for c in range(circle_count):
        inside = data.draw(st.lists(st.sampled_from([True, False, True]), min_size=len(members), max_size=len(members)),
                           label=f"in circle {c}")
        db.session.add_all(CircleMember(circle_id=circle_ids[c], user_id=members[i].id) for i in everyone if inside[i])
    some_circles = st.sets(st.sampled_from(range(circle_count))) if circle_count else st.just(set())
    starters = data.draw(st.sampled_from([None, None]) | some_circles, label="starters")
    if starters is not None:
        db.session.add(MessagingRule(name=rules.STARTERS, value=f"circles:{ids(starters, circle_ids)}"))
    if data.draw(st.booleans(), label="reach shared-circle"):
        db.session.add(MessagingRule(name=rules.REACH, value="shared-circle"))
    for c in data.draw(some_circles, label="protected"):
        open_to = data.draw(some_circles, label=f"circle {c} open to")
        own = data.draw(st.booleans(), label=f"circle {c}'s own members start")
        db.session.add(MessagingRule(name=f"{rules.PROTECT}{circle_ids[c]}",
                                     value=f"open-to:{ids(open_to, circle_ids)}" + ("" if own else ";not-by-own-members")))
    pairs = [(i, j) for i in everyone for j in everyone if i != j]
    for i, j in data.draw(st.sets(st.sampled_from(pairs)), label="blocks (blocker, blocked)"):
        db.session.add(Block(blocker_id=members[i].id, blocked_id=members[j].id))
    db.session.commit()
    conversations = []
    for i, j in data.draw(st.sets(st.sampled_from([(i, j) for i, j in pairs if i < j])), label="conversations"):
        kind = data.draw(st.sampled_from(["a message", "opened by the first", "opened by the second", "opened by both"]))
        conversations.append(converse(members[i], members[j], kind))
    return members, conversations


def converse(a, b, kind) -> Conversation:
    low, high = sorted((a.id, b.id))
    conversation = Conversation(user_low_id=low, user_high_id=high)
    db.session.add(conversation)
    db.session.commit()
    if kind == "a message":
        message = Message(conversation_id=conversation.id, sender_id=a.id, body="hello")
        db.session.add(message)
        with kept_after_commit():  # as writes.send_message: record_send finds the message as it was stored
            db.session.commit()
            ensure_memberships(conversation)
            record_send(conversation, message)
    else:
        openers = {"opened by the first": [a.id], "opened by the second": [b.id], "opened by both": [a.id, b.id]}
        ensure_memberships(conversation, openers[kind])
    return conversation


@AGREE
@given(data=st.data())
def test_the_set_based_form_and_the_one_pair_decision_agree_for_every_pair(app, data):
    members, conversations = build(data)
    for viewer in members:
        offered = set(db.session.scalars(select(User.id).where(*rules.writable_where(rules.side_of(viewer), User))))
        page = rules.decisions_for(viewer, members)
        wide = rules.starting_refusal(viewer)
        for other in members:
            decision = rules.decide_pair(viewer, other)
            assert (other.id in offered) == decision.may_write, (viewer.username, other.username, decision)
            assert page[other.id] == decision  # a page's decisions are the one-pair decision
            if wide is not None and other.role != "admin":
                # said once for the viewer: it holds for every member they look at
                assert not rules.decide_pair(viewer, other, written=False).may_write
    for conversation in conversations:
        for member_id in (conversation.user_low_id, conversation.user_high_id):
            viewer, other = (db.session.get(User, i) for i in (member_id, conversation.other_id(member_id)))
            state = reads.thread_state(viewer, conversation)  # what the thread's compose box reads
            written = any(row is not None and row.last_message_id for row in (state.mine, state.theirs))
            assert rules.decide_pair(viewer, state.other, state.blocker_id, written) == rules.decide_pair(viewer, other)


def test_a_block_and_a_pause_read_the_same_to_the_member_refused(app, make_user, messaging_on):
    alice, bob, carol = make_user("alice"), make_user("bob"), make_user("carol")
    db.session.add(Block(blocker_id=bob.id, blocked_id=alice.id))
    carol.messages_paused = True
    db.session.commit()
    blocked, paused = rules.decide_pair(alice, bob), rules.decide_pair(alice, carol)
    assert (blocked.may, blocked.reason, blocked.status) == (paused.may, paused.reason, paused.status) == (
        rules.NO, "not-accepting", 403)
    assert blocked.words.replace("Bob", "Carol") == paused.words
