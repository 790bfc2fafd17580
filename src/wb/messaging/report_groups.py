"""Admin → Reports grouped by the member reported, with plain facts from metadata beside each report.

Two accounts made minutes before, one inviting the other, filed eight reports about a seller who had
blocked one of them, and the page listed eight rows with nothing to tell an admin so (a marketplace's
tester). The facts come from accounts, invitations and blocks only: never a message, nor anything a
reporter wrote beyond the report itself.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import select

from ..extensions import db
from ..models import AuditEvent, User, look_alike_test
from .models import Block, Report
from .safety import BLOCKED


@dataclass
class ReporterFacts:
    """What the metadata says about a report's reporter, as it stood when they filed it."""

    joined_before: str = ""  # "12 minutes": how long before reporting they joined
    invited_by: User | None = None  # who invited them, when that member reported the same member too
    invited_by_reported: bool = False  # the member they reported invited them
    invited: list[User] = field(default_factory=list)  # members they invited who reported the same member too
    blocked_before: bool = False  # the reported member had blocked them before the report
    block_lifted: bool = False  # ... and has unblocked them since
    name_like_reported: bool = False  # their name looks like the reported member's


@dataclass
class ReportGroup:
    """The reports about one member, newest first, and what is known beside each."""

    reported: User | None
    reports: list[Report]
    facts: dict[int, ReporterFacts]

    @property
    def reporter_count(self) -> int:
        return len({report.reporter_id for report in self.reports})


def report_groups(reports: list[Report], people: dict[int, User]) -> list[ReportGroup]:
    """reports (newest first) grouped by the member reported, the group with the newest report first,
    with each report's ReporterFacts; people holds every reporter and reported member by id. Two
    queries (blocks, and blocks lifted since) however many reports there are."""
    by_member: dict[int, list[Report]] = {}
    for report in reports:
        by_member.setdefault(report.reported_id, []).append(report)
    first_blocks = _first_blocks(reports)
    return [ReportGroup(people.get(member_id), rows, _facts(rows, people, first_blocks))
            for member_id, rows in by_member.items()]


def _facts(rows: list[Report], people: dict[int, User], first_blocks: dict) -> dict[int, ReporterFacts]:
    """Each report's facts, knowing the other reports about the same member (rows)."""
    reporter_ids = {report.reporter_id for report in rows}
    facts = {}
    for report in rows:
        reporter, reported = people.get(report.reporter_id), people.get(report.reported_id)
        said = facts[report.id] = ReporterFacts()
        if reporter is None:
            continue
        said.joined_before = span_words(report.created_at - reporter.created_at)
        inviter_id = reporter.invited_by_id
        said.invited_by_reported = inviter_id is not None and inviter_id == report.reported_id
        if inviter_id in reporter_ids - {reporter.id}:
            said.invited_by = people.get(inviter_id)
        said.invited = sorted((people[other] for other in reporter_ids - {reporter.id}
                               if other in people and people[other].invited_by_id == reporter.id),
                              key=lambda person: person.username)
        pair = (report.reported_id, report.reporter_id)
        blocked_at, still_blocked = first_blocks.get(pair, (None, False))
        said.blocked_before = blocked_at is not None and blocked_at < report.created_at
        said.block_lifted = said.blocked_before and not still_blocked
        said.name_like_reported = _look_alike(reporter, reported)
    return facts


def _first_blocks(reports: list[Report]) -> dict[tuple[int, int], tuple[datetime, bool]]:
    """(reported, reporter) -> (when the reported member first blocked the reporter, whether the block
    stands now), for the pairs among reports that ever had one. The blocks table holds the blocks
    that stand; the audit log keeps each block made (safety.block), a lifted one too."""
    if not reports:
        return {}
    reported_ids = {report.reported_id for report in reports}
    reporter_ids = {report.reporter_id for report in reports}
    found: dict[tuple[int, int], tuple[datetime, bool]] = {}
    for blocker_id, blocked_id, made in db.session.execute(
            select(Block.blocker_id, Block.blocked_id, Block.created_at)
            .where(Block.blocker_id.in_(reported_ids), Block.blocked_id.in_(reporter_ids))):
        found[(blocker_id, blocked_id)] = (made, True)
    subjects = {f"user:{reporter_id}": reporter_id for reporter_id in reporter_ids}
    for actor_id, subject, made in db.session.execute(
            select(AuditEvent.actor_id, AuditEvent.subject, AuditEvent.created_at)
            .where(AuditEvent.action == BLOCKED, AuditEvent.actor_id.in_(reported_ids),
                   AuditEvent.subject.in_(subjects))):
        pair = (actor_id, subjects[subject])
        earlier, stands = found.get(pair, (made, False))
        found[pair] = (min(earlier, made), stands)
    return found


def _look_alike(reporter: User, reported: User | None) -> bool:
    """Whether the reporter's name or username looks like the reported member's, by the test a name
    chosen beside theirs meets (models.look_alike_test), as "Sam Gr33n" does Sam Green's; "Flat 9"
    is another number than "Flat 6". Not for one who left: their name is gone."""
    if reported is None or reported.deleted_at or reporter.deleted_at:
        return False
    tests = [test for test in (look_alike_test(reported.display_name or reported.username),
                               look_alike_test(reported.username)) if test is not None]
    return any(test(name) for test in tests for name in (reporter.display_name or reporter.username, reporter.username))


def span_words(span) -> str:
    """A span of time in words, rounded down ("less than a minute", "12 minutes", "3 days", "2 years")."""
    seconds = max(int(span.total_seconds()), 0)
    for unit, size in (("year", 365 * 86400), ("month", 30 * 86400), ("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size:
            count = seconds // size
            return f"{count} {unit}{'' if count == 1 else 's'}"
    return "less than a minute"
