"""Widgets and fields of the operator console that are not forms: the labelled date and
time boxes, and the maintenance reminder (a preset or a duration typed in words)."""

import re
from datetime import timedelta
from typing import Any

from django import forms
from django.contrib.admin.widgets import AdminSplitDateTime
from django.core.exceptions import ValidationError
from django.utils.dateparse import parse_duration


class LabelledSplitDateTime(AdminSplitDateTime):
    """The admin's date and time boxes, each named for screen readers ("Show as posted
    at: date"): the admin writes "Date:" and "Time:" as plain text, and the field's
    <label> points at neither box (a multi-part widget has no single one)."""

    def __init__(self, label: str, attrs: dict[str, Any] | None = None):
        super().__init__(attrs)
        for widget, part in zip(self.widgets, ("date", "time"), strict=True):
            widget.attrs["aria-label"] = f"{label}: {part}"


# -- the maintenance reminder ------------------------------------------------------------

REMINDER_PRESETS = [
    ("", "No reminder"),
    ("900", "15 minutes before"),
    ("3600", "1 hour before"),
    ("86400", "1 day before"),
    ("custom", "Custom…"),
]
CUSTOM_REMINDER = re.compile(r"^\s*(\d+)\s*(m|min|mins|minutes?|h|hours?|d|days?)\s*$", re.I)
UNIT_SECONDS = {"m": 60, "h": 3600, "d": 86400}


def parse_reminder(text: str) -> timedelta | None:
    """``90 min``, ``2 h``, ``3 days`` or Django's ``01:30:00``; None when unreadable."""
    match = CUSTOM_REMINDER.match(text)
    if match:
        return timedelta(seconds=int(match[1]) * UNIT_SECONDS[match[2][0].lower()])
    return parse_duration(text.strip())


class ReminderWidget(forms.MultiWidget):
    """A preset select and, for "Custom…", a text box (hidden by the stylesheet until
    "Custom…" is chosen)."""

    def __init__(self, attrs: dict[str, Any] | None = None):
        widgets = [
            forms.Select(choices=REMINDER_PRESETS, attrs={"class": "reminder-preset"}),
            forms.TextInput(
                attrs={"class": "reminder-custom", "placeholder": "e.g. 30 min, 2 h, 3 days"}
            ),
        ]
        super().__init__(widgets, attrs)

    def value_from_datadict(self, data: Any, files: Any, name: str) -> list[str]:
        if f"{name}_0" not in data and data.get(name):
            return ["custom", data[name]]  # a plain duration ("01:00:00") from a script
        return super().value_from_datadict(data, files, name)

    def decompress(self, value: Any) -> list[str]:
        if not value:
            return ["", ""]
        if isinstance(value, str):
            value = parse_duration(value)
            if value is None:
                return ["custom", ""]
        seconds = str(int(value.total_seconds()))
        if seconds in {key for key, _ in REMINDER_PRESETS}:
            return [seconds, ""]
        minutes = int(value.total_seconds() // 60)
        return ["custom", f"{minutes} min"]


class ReminderField(forms.MultiValueField):
    """How long before a maintenance starts subscribers get a reminder: a preset (15 min,
    1 h, 1 day) or a custom duration typed as ``90 min`` / ``2 h`` / ``3 days``."""

    widget = ReminderWidget

    def __init__(self, **kwargs: Any):
        kwargs.pop("max_length", None)
        kwargs.setdefault("required", False)
        kwargs.setdefault("label", "Remind subscribers")
        fields = [
            forms.ChoiceField(choices=REMINDER_PRESETS, required=False),
            forms.CharField(required=False),
        ]
        super().__init__(fields, require_all_fields=False, **kwargs)

    def compress(self, data_list: list[str]) -> timedelta | None:
        if not data_list:
            return None
        preset, custom = [*data_list, "", ""][:2]
        if preset in ("", None):
            return None
        if preset != "custom":
            return timedelta(seconds=int(preset))
        value = parse_reminder(custom or "")
        if value is None or value <= timedelta(0):
            raise ValidationError(
                "Type how long before the start, e.g. 30 min, 2 h or 3 days.", code="invalid"
            )
        return value
