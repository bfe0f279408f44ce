"""Microsoft Teams: an Adaptive Card message POSTed to a Workflows webhook URL (the
retired Office 365 connectors' MessageCard is not used)."""

from subscriptions.channels.http import HttpChannel
from subscriptions.models import NotificationEvent, Subscriber
from subscriptions.payloads import Payload, chat_test, teams


class TeamsChannel(HttpChannel):
    name = Subscriber.Channel.TEAMS.value

    def prepare(self, event: NotificationEvent) -> Payload:
        return teams(event)

    def prepare_test(self) -> Payload:
        return chat_test(self.name)
