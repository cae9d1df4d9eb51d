"""Who owns a segment, and where that team's alerts go. Pure: config in, names out.

Ownership is decided once, by driftmon, when an event is detected (:func:`team_for`); the
event's ``team`` label then carries it to Alertmanager, which routes by team only. So the
routing rules live here, in one place, and Alertmanager never re-derives them from segments.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

from monitor.config import OwnerRoute, Owners, Receiver, Team

Role = Literal["primary", "secondary", "notify"]


def routes(owners: Owners) -> list[OwnerRoute]:
    """Explicit routes in config order, then each ``policy_areas`` entry as a one-key route.

    >>> own = Owners(teams={"a": {"primary": {"webhook": {"url": "http://x"}},
    ...                           "escalation": {"enabled": False}}},
    ...              default="a", policy_areas={"cyber": "a"})
    >>> [r.matchers for r in routes(own)]
    [{'policy_area': 'cyber'}]
    """
    implied = [OwnerRoute(team=t, policy_area=a) for a, t in owners.policy_areas.items()]
    return [*owners.routes, *implied]


def team_for(owners: Owners, segment: Mapping[str, str]) -> str:
    """The team that owns ``segment``: the matching route with the most dimensions (the first
    of equals), else ``owners.default``.

    >>> hook = {"primary": {"webhook": {"url": "http://x"}}, "escalation": {"enabled": False}}
    >>> own = Owners(teams={"oncall": hook, "cyber": hook, "fr": hook}, default="oncall",
    ...              policy_areas={"cyber": "cyber"},
    ...              routes=[{"team": "fr", "locale": "fr-FR", "policy_area": "cyber"}])
    >>> team_for(own, {"locale": "fr-FR", "policy_area": "cyber"})
    'fr'
    >>> team_for(own, {"locale": "en-US", "policy_area": "cyber"})
    'cyber'
    >>> team_for(own, {"locale": "fr-FR"})
    'oncall'
    """
    best, team = 0, owners.default
    for route in routes(owners):
        wanted = route.matchers
        if len(wanted) > best and all(segment.get(k) == v for k, v in wanted.items()):
            best, team = len(wanted), route.team
    return team


def receiver_name(team: str, role: Role) -> str:
    """The Alertmanager receiver name of a team's receiver.

    >>> receiver_name("cyber", "secondary")
    'cyber-secondary'
    """
    return f"{team}-{role}"


def team_receivers(team: Team) -> dict[Role, Receiver]:
    """A team's configured receivers by role (primary always, the others when set)."""
    found: dict[Role, Receiver] = {"primary": team.primary}
    if team.secondary is not None:
        found["secondary"] = team.secondary
    if team.notify is not None:
        found["notify"] = team.notify
    return found


def receivers(owners: Owners) -> dict[str, Receiver]:
    """Every team receiver by its Alertmanager name, sorted by name."""
    named = {
        receiver_name(name, role): receiver
        for name, team in owners.teams.items()
        for role, receiver in team_receivers(team).items()
    }
    return dict(sorted(named.items()))


def notify_role(team: Team) -> Role:
    """Where a team's notify-only severities go: its ``notify`` receiver, else the primary."""
    return "notify" if team.notify is not None else "primary"


def escalating_teams(owners: Owners) -> list[str]:
    """Teams whose unacknowledged pages driftmon escalates to their secondary, sorted."""
    return sorted(name for name, team in owners.teams.items() if team.escalates)
