"""Small helpers shared by the e-mail and MIME tests."""

from statusportal.mail import use_mail_server
from subscriptions import outbox


def point_mail_at(settings, smtp) -> None:
    """Send the test's mail to the aiosmtpd server ``smtp``."""
    use_mail_server(settings, smtp.settings())


def fanned_out_ids(event) -> list[int]:
    """Fan ``event`` out without a broker; the ids of the delivery rows, in batch order."""
    batches: list[list[int]] = []
    outbox.fan_out(event.pk, enqueue=batches.append)
    return [pk for batch in batches for pk in batch]


def manage_links(subscriber) -> tuple[str, str]:
    """The subscriber's manage and unsubscribe URLs, as the test settings write them."""
    base = f"https://status.example.com/subscriptions/{subscriber.token}/"
    return base, base + "unsubscribe/"
