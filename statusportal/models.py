"""Site-wide state shared by all apps."""

from django.conf import settings
from django.core.serializers.json import DjangoJSONEncoder
from django.db import models
from django.db.models import F
from django.utils import timezone


class Revision(models.Model):
    """A single row counting changes to anything shown on the public pages.

    Every write that changes what readers see bumps it in the same transaction, so all
    web processes agree at once on which cached pages are stale (a per-process cache
    version would not), and ``changed_at`` is the pages' ``Last-Modified``.
    """

    SINGLETON_ID = 1

    number = models.PositiveBigIntegerField(default=0)
    changed_at = models.DateTimeField(default=timezone.now)

    class Meta:
        verbose_name = "content revision"

    def __str__(self) -> str:
        return f"revision {self.number} at {self.changed_at:%Y-%m-%d %H:%M:%S}"

    @classmethod
    def current(cls) -> "Revision":
        """The current revision (one primary-key query)."""
        revision, _ = cls.objects.get_or_create(pk=cls.SINGLETON_ID)
        return revision

    @classmethod
    def bump(cls) -> None:
        """Mark the public content as changed (joins the caller's transaction)."""
        updated = cls.objects.filter(pk=cls.SINGLETON_ID).update(
            number=F("number") + 1, changed_at=timezone.now()
        )
        if not updated:
            cls.objects.get_or_create(pk=cls.SINGLETON_ID, defaults={"number": 1})


class HashedKey(models.Model):
    """A key shown once and kept only as its SHA-256 (``statusportal.api.tokens``): API
    tokens of users, and integration tokens of monitoring."""

    key_hash = models.CharField(max_length=64, unique=True, editable=False)
    prefix = models.CharField(
        max_length=8, editable=False, help_text="First characters of the key, to recognise it."
    )
    created_at = models.DateTimeField(auto_now_add=True)
    last_used_at = models.DateTimeField(null=True, blank=True, editable=False)
    revoked_at = models.DateTimeField(
        null=True, blank=True, help_text="A revoked token is refused from then on."
    )

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None

    def revoke(self) -> bool:
        """Refuse the token from now on (kept for the record); False when it already was.
        One conditional UPDATE, so two operators revoking at once keep the first time."""
        now = timezone.now()
        revoked = type(self)._default_manager.filter(pk=self.pk, revoked_at__isnull=True)
        if not revoked.update(revoked_at=now):
            return False
        self.revoked_at = now
        return True


class ApiToken(HashedKey):
    """A named API key of one user; requests made with it act with that user's permissions.

    Only the SHA-256 of the key is stored: the key itself is shown once, when the token is
    created (``statusportal.api.tokens.create_token``), and cannot be recovered later.
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="api_tokens"
    )
    name = models.CharField(max_length=100, help_text="What the token is for, e.g. 'alerting'.")

    class Meta:
        verbose_name = "API token"
        ordering = ["user__username", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["user", "name"], name="%(app_label)s_%(class)s_unique_user_name"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} / {self.name} ({self.prefix}…)"


class IdempotencyRecord(models.Model):
    """The first successful response to a POST sent with an ``Idempotency-Key`` header.

    Written in the same transaction as the write it describes, so a retry of the request
    (same user, same key) finds either nothing (the first attempt rolled back: run it) or
    this record (return the stored response instead of writing twice).
    """

    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="idempotency_records"
    )
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(
        max_length=64, help_text="SHA-256 of method, path and body of the first request."
    )
    status_code = models.PositiveSmallIntegerField()
    response = models.JSONField(encoder=DjangoJSONEncoder)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        verbose_name = "idempotency record"
        ordering = ["-created_at"]
        constraints = [
            # Also serves the lookup "the record of this user's key".
            models.UniqueConstraint(
                fields=["user", "key"], name="%(app_label)s_%(class)s_unique_user_key"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.user} {self.key} → {self.status_code}"
