"""The Alertmanager configuration, generated from the owners and alerting config. Pure.

Routing, top to bottom (the first match wins unless a route says ``continue``):

1. every alert about a drift event (it has an ``event_id``) also goes to the ``driftmon``
   webhook on the worker, which records ``notified`` / ``escalated`` on the event's timeline;
2. ``DriftmonWatchdog`` goes to the dead-man's switch, every minute;
3. by ``team``, then by ``severity``: the team's paged severities to its primary receiver,
   notify-only ones to its notify receiver (else primary), the rest nowhere (``silent``);
   ``DriftmonDriftUnacknowledged`` to its secondary receiver only;
4. anything else (an unknown team) to ``catch-all``: the default team's primary targets.

Alerts are grouped by team, model, metric and direction, so one regression of a model
version across many segments is one notification, not one per segment.
"""

from __future__ import annotations

from typing import Any

from monitor.config import Config, Receiver, Team
from monitor.owners import notify_role, receiver_name

GROUP_BY = ["alertname", "team", "model", "metric", "direction"]
MATCH = ["alertname", "team", "policy_area", "model", "surface", "locale", "metric", "direction"]
DRIFTMON, WATCHDOG, SILENT, CATCH_ALL = "driftmon", "watchdog", "silent", "catch-all"
ESCALATION = "DriftmonDriftUnacknowledged"

SLACK_TITLE = (
    '[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}'
    "{{ end }}] {{ .CommonLabels.alertname }} {{ .CommonLabels.team }} "
    "{{ .CommonLabels.model }} {{ .CommonLabels.metric }} {{ .CommonLabels.direction }}"
)
SLACK_TEXT = (
    "{{ range .Alerts }}*{{ .Labels.severity }}* {{ .Annotations.summary }}\n"
    "{{ .Annotations.description }}\n"
    "Runbook: {{ .Annotations.runbook_url }}"
    "{{ with .Annotations.dashboard_url }} | Dashboard: {{ . }}{{ end }}"
    "{{ with .Annotations.examples }} | Example sample ids: {{ . }}{{ end }}\n{{ end }}"
)


def targets(receiver: Receiver) -> dict[str, Any]:
    """The Alertmanager integrations of one receiver; every one sends resolved notices."""
    out: dict[str, Any] = {}
    if receiver.email is not None:
        e = receiver.email
        out["email_configs"] = [
            {
                "to": e.to,
                "from": e.sender,
                "smarthost": e.smarthost,
                "require_tls": e.require_tls,
                "send_resolved": True,
            }
        ]
    if receiver.pagerduty is not None:
        out["pagerduty_configs"] = [
            {
                "routing_key": receiver.pagerduty.routing_key,
                "severity": "{{ .CommonLabels.severity }}",
                "description": SLACK_TITLE,
                "links": [
                    {"href": "{{ (index .Alerts 0).Annotations.runbook_url }}", "text": "Runbook"}
                ],
                "send_resolved": True,
            }
        ]
    if receiver.slack is not None:
        out["slack_configs"] = [
            {
                "api_url": receiver.slack.api_url,
                "channel": receiver.slack.channel,
                "title": SLACK_TITLE,
                "text": SLACK_TEXT,
                "send_resolved": True,
            }
        ]
    if receiver.webhook is not None:
        out["webhook_configs"] = [{"url": receiver.webhook.url, "send_resolved": True}]
    return out


def driftmon_url(cfg: Config) -> str:
    given = cfg.alerting.driftmon_webhook_url
    return given or f"http://{cfg.worker.web_host}:{cfg.worker.web_port}/alerts/webhook"


def receivers(cfg: Config) -> list[dict[str, Any]]:
    hook: dict[str, Any] = {"url": driftmon_url(cfg), "send_resolved": True}
    if cfg.alerting.api_token:
        hook["http_config"] = {"authorization": {"credentials": cfg.alerting.api_token}}
    fixed = [
        {"name": DRIFTMON, "webhook_configs": [hook]},
        {"name": WATCHDOG, "webhook_configs": [{"url": cfg.alerting.watchdog_url}]},
        {"name": SILENT},
        {"name": CATCH_ALL, **targets(cfg.owners.teams[cfg.owners.default].primary)},
    ]
    teams = []
    for name, team in sorted(cfg.owners.teams.items()):
        for role, receiver in (
            ("primary", team.primary),
            ("secondary", team.secondary),
            ("notify", team.notify),
        ):
            if receiver is not None:
                teams.append({"name": receiver_name(name, role), **targets(receiver)})
    return fixed + teams


def _severities(levels: list[str]) -> str:
    return f'severity=~"{"|".join(sorted(levels))}"'


def team_route(name: str, team: Team) -> dict[str, Any]:
    policy = team.escalation
    routes = []
    if team.escalates and team.secondary is not None:
        routes.append(
            {
                "receiver": receiver_name(name, "secondary"),
                "matchers": [f'alertname="{ESCALATION}"'],
            }
        )
    if policy.page:
        routes.append(
            {"receiver": receiver_name(name, "primary"), "matchers": [_severities(policy.page)]}
        )
    if policy.notify:
        notify = receiver_name(name, notify_role(team))
        routes.append({"receiver": notify, "matchers": [_severities(policy.notify)]})
    return {"receiver": SILENT, "matchers": [f'team="{name}"'], "routes": routes}


def route(cfg: Config) -> dict[str, Any]:
    a = cfg.alerting
    first = {"receiver": DRIFTMON, "matchers": ['event_id=~".+"'], "continue": True}
    watchdog = {
        "receiver": WATCHDOG,
        "matchers": ['alertname="DriftmonWatchdog"'],
        "group_by": ["alertname"],
        "group_wait": "0s",
        "group_interval": "1m",
        "repeat_interval": "1m",
    }
    teams = [team_route(name, team) for name, team in sorted(cfg.owners.teams.items())]
    return {
        "receiver": CATCH_ALL,
        "group_by": GROUP_BY,
        "group_wait": a.group_wait,
        "group_interval": a.group_interval,
        "repeat_interval": a.repeat_interval,
        "routes": [first, watchdog, *teams, {"receiver": CATCH_ALL}],
    }


def inhibit_rules() -> list[dict[str, Any]]:
    """Warnings and infos wait while the matching critical fires; drift alerts wait while the
    pipeline that computes them is unhealthy (everywhere, or in the segment it names)."""
    return [
        {
            "source_matchers": ['severity="critical"'],
            "target_matchers": ['severity=~"warning|info"'],
            "equal": MATCH,
        },
        {
            "source_matchers": ['component="pipeline"', 'scope="all"'],
            "target_matchers": ['component="drift"'],
            "equal": [],
        },
        {
            "source_matchers": ['component="pipeline"', 'scope="segment"'],
            "target_matchers": ['component="drift"'],
            "equal": ["model", "surface", "locale"],
        },
        {
            "source_matchers": ['alertname=~"DriftmonWorkerDown|DriftmonBrokerUnreachable"'],
            "target_matchers": ['alertname="DriftmonNoTraffic"'],
            "equal": [],
        },
    ]


def alertmanager_config(cfg: Config) -> dict[str, Any]:
    return {
        "global": {"resolve_timeout": "5m"},
        "route": route(cfg),
        "inhibit_rules": inhibit_rules(),
        "receivers": receivers(cfg),
    }
