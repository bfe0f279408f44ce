"""``/history.atom`` and ``/history.rss``: one entry per incident or maintenance (the
newest 50), its description holding all its updates, newest first."""

import re

from django.conf import settings
from django.contrib.syndication.views import Feed
from django.utils.feedgenerator import Atom1Feed, Rss201rev2Feed, SyndicationFeed

from incidents import pages
from incidents.models import Incident

# Characters XML 1.0 cannot hold. Names and bodies may contain them (nothing on the way in
# refuses a control character but NUL), and Django's feed writer raises on them: one such
# name would make both feeds a 500 for every reader. They are dropped from the feed only.
_NOT_XML = re.compile("[\x00-\x08\x0b\x0c\x0e-\x1f\ufffe\uffff]")


def xml_text(value: str) -> str:
    """``value`` without the characters XML 1.0 cannot hold."""
    return _NOT_XML.sub("", value)


class HistoryRssFeed(Feed):
    feed_type: type[SyndicationFeed] = Rss201rev2Feed
    description_template = "status/feed_item.html"

    def title(self) -> str:
        return f"{settings.STATUSPAGE_NAME} status - incident history"

    def description(self) -> str:
        return f"Incidents and maintenance reported on the {settings.STATUSPAGE_NAME} status page."

    # Absolute links from STATUSPAGE_URL, not from the request's Host: the rendering is
    # cached and shared by everyone, whichever host name they used.
    def link(self) -> str:
        return f"{settings.STATUSPAGE_URL}/history/"

    def feed_url(self) -> str:
        return f"{settings.STATUSPAGE_URL}/history.rss"

    def get_feed(self, obj, request):
        feed = super().get_feed(obj, request)
        for item in feed.items:
            item["title"] = xml_text(item["title"])
            item["description"] = xml_text(item["description"])
            item["categories"] = [xml_text(str(c)) for c in item["categories"] or ()]
        return feed

    def items(self) -> list[Incident]:
        return pages.feed_items()

    def item_title(self, item: Incident) -> str:
        return item.name

    def item_link(self, item: Incident) -> str:
        return settings.STATUSPAGE_URL + item.get_absolute_url()

    def item_guid(self, item: Incident) -> str:
        return self.item_link(item)

    def item_pubdate(self, item: Incident):
        """When the item first appeared: its start, or when it was written if that is
        earlier, so maintenance announced for a later day is dated when it was announced
        (a feed reader shows a future date as the newest item until that day)."""
        return min(item.started_at, item.created_at)

    def item_updateddate(self, item: Incident):
        return item.timeline[0].display_at if item.timeline else item.started_at

    def item_categories(self, item: Incident) -> list[str]:
        return [item.get_kind_display(), item.get_status_display()]


class HistoryAtomFeed(HistoryRssFeed):
    feed_type = Atom1Feed

    def subtitle(self) -> str:
        return self.description()

    def feed_url(self) -> str:
        return f"{settings.STATUSPAGE_URL}/history.atom"
