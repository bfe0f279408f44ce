"""``manage.py createoperator EMAIL``: make (or update) a Support staff operator."""

from django.contrib.auth import get_user_model
from django.contrib.auth.models import Group
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.validators import validate_email
from django.db import transaction
from django.utils.crypto import get_random_string

from statusportal.roles import SUPPORT_STAFF, sync_support_staff_group


class Command(BaseCommand):
    help = (
        "Create a staff user in the Support staff group (username = EMAIL), or add an "
        "existing one to it. Without --password a new user gets a random password, "
        "printed once; an existing user keeps theirs."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("email", help="The operator's email address, also the username.")
        parser.add_argument("--password", help="Set this password (checked by the validators).")

    @transaction.atomic
    def handle(self, *args, email: str, password: str | None, **options):
        email = email.strip()
        try:
            validate_email(email)
        except ValidationError:
            raise CommandError(f"Not an email address: {email!r}") from None
        User = get_user_model()
        user = (
            User.objects.filter(username__iexact=email).first()
            or User.objects.filter(email__iexact=email).first()
        )
        created = user is None
        if user is None:  # (created)
            user = User(username=email, email=email)
        generated = None
        if password is None and created:
            generated = password = get_random_string(20)
        if password is not None:
            try:
                validate_password(password, user)
            except ValidationError as exc:
                raise CommandError("Password refused: " + " ".join(exc.messages)) from None
            user.set_password(password)
        user.is_staff = True
        user.is_active = True
        user.save()
        sync_support_staff_group()  # the group and its permissions, as roles.py says
        user.groups.add(Group.objects.get(name=SUPPORT_STAFF))

        what = "Created" if created else "Updated"
        self.stdout.write(f"{what} operator {user.username} (staff, group {SUPPORT_STAFF!r}).")
        if generated:
            self.stdout.write(f"Password: {generated}  (shown once; change it after logging in)")
        elif password is not None:
            self.stdout.write("Password set.")
        else:
            self.stdout.write("Password unchanged.")
        if user.is_superuser:
            self.stdout.write("Note: this user is also a superuser, which overrides the group.")
