"""Requests from a Slack workspace (or Enterprise Grid organisation) the app is not installed in.

The signing secret belongs to the Slack *app*, not to a workspace: once the app is installed
anywhere else (a second workspace, a distributed app, a Slack Connect partner's org), Slack signs
that workspace's requests with the very same secret. A valid signature therefore does not mean
"our team". The installed workspace is what ``auth.test`` says for our bot token; a request whose
``team_id``/``enterprise_id`` differ is answered politely and nothing runs.
"""
from __future__ import annotations

REFUSAL = ("This CRM app is installed in another Slack workspace, so it cannot act here. "
           "Nothing was done; ask your Slack admin.")


def is_foreign(installed_team: str | None, installed_enterprise: str | None,
               team: str | None, enterprise: str | None) -> bool:
    """Whether a request from ``team``/``enterprise`` comes from outside the installation.

    An org-wide (Enterprise Grid) installation has an enterprise id and no single team: every
    workspace of that organisation is ours. A request that names neither is judged by Slack's
    signature alone (url_verification, some app-level events).
    """
    if enterprise and enterprise != installed_enterprise:
        return True
    if installed_enterprise and not installed_team:
        return not enterprise and bool(team)  # org-wide install: a request outside any org is not ours
    return bool(team) and bool(installed_team) and team != installed_team
