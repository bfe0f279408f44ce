"""Slack: a Block Kit message POSTed to the channel's incoming-webhook URL."""

from subscriptions.channels.http import HttpChannel
from subscriptions.models import NotificationEvent, Subscriber
from subscriptions.payloads import Payload, chat_test, slack


class SlackChannel(HttpChannel):
    name = Subscriber.Channel.SLACK.value

    def prepare(self, event: NotificationEvent) -> Payload:
        return slack(event)

    def prepare_test(self) -> Payload:
        return chat_test(self.name)
