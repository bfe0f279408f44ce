"""Notification channels: how one delivery is rendered and sent (see ``base.Channel``).

Email is the first; another channel (webhooks, chat) is one more module here that the
delivery loop in ``subscriptions.delivery`` drives in the same way.
"""
