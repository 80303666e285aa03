"""Campaigns: a message to a segment of customers over Telegram, sent once each, and what it achieved.

One module per job:

* ``segments``   the ``key=value`` line that says who a campaign is for, and who it can reach
* ``lifecycle``  the message per language, confirming (draft → sending), the recipient rows
* ``sender``     the resumable, rate-limited sender (one per fleet, each recipient claimed before it is sent)
* ``results``    replies attributed to the campaign, the deals that followed, the report
* ``chart``      the report's picture

Nothing here imports a chat SDK: the sender is handed a messenger at composition (``sender.Messenger``).
"""
