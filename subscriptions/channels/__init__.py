"""Notification channels: how one delivery is rendered and sent (see ``base.Channel``).

Email (``mail``), webhooks (``webhook``), Slack (``slack``) and Microsoft Teams
(``teams``); the three HTTP channels share ``http``. The delivery loop in
``subscriptions.delivery`` drives every one of them in the same way.
"""
