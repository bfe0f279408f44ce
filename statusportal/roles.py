"""Operator roles. The Support staff group runs incidents but cannot touch users,
subscribers' data or settings."""

from django.apps import apps as global_apps
from django.contrib.auth.management import create_permissions

SUPPORT_STAFF = "Support staff"

# app_label -> codenames granted to Support staff. Deliberately absent: any delete on
# incidents and updates (the history is the record), change_component (names, order and
# grouping are the page owner's), everything in auth, and subscribers (their data is not
# support's). Deliveries: seeing them and retrying a failed one ("change" on a delivery is
# the retry action alone: its admin edits nothing).
SUPPORT_STAFF_PERMISSIONS = {
    "components": [
        "view_componentgroup",
        "view_component",
        "change_component_status",
        "view_componentstatuschange",
    ],
    "incidents": [
        "view_incident",
        "add_incident",
        "change_incident",
        "resolve_incident",
        "view_incidentupdate",
        "add_incidentupdate",
        "change_incidentupdate",
        "view_postmortem",
        "add_postmortem",
        "change_postmortem",
        "view_incidenttemplate",
        "add_incidenttemplate",
        "change_incidenttemplate",
        "delete_incidenttemplate",
        # The Maintenance proxy model (its admin page schedules maintenance).
        "view_maintenance",
        "add_maintenance",
        "change_maintenance",
    ],
    "subscriptions": [
        "view_delivery",
        "change_delivery",
    ],
    # Automation: see what monitoring did and switch it off per component; integrations
    # and their tokens are the page owner's.
    "monitoring": [
        "view_automation",
        "view_integration",
        "view_payload",
        "view_componentautomation",
        "add_componentautomation",
        "change_componentautomation",
    ],
}


def sync_support_staff_group(apps=None):
    """Create the group (if needed) and give it exactly the permissions above.

    From a data migration pass the migration's ``apps``: permissions of models that do not
    exist yet at that point of the migration graph are skipped (a later migration that
    creates them calls this again). Called without ``apps`` (at run time, from
    ``createoperator``, in tests) every permission must exist, so a typo fails loudly.
    """
    strict = apps is None
    apps = apps or global_apps
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    # Permissions are normally created after all migrations ran; make sure they exist now.
    for label in SUPPORT_STAFF_PERMISSIONS:
        create_permissions(global_apps.get_app_config(label), apps=apps, verbosity=0)
    group, _ = Group.objects.get_or_create(name=SUPPORT_STAFF)
    perms = []
    for label, codenames in SUPPORT_STAFF_PERMISSIONS.items():
        found = list(
            Permission.objects.filter(content_type__app_label=label, codename__in=codenames)
        )
        missing = set(codenames) - {p.codename for p in found}
        if missing and strict:
            raise RuntimeError(f"Support staff permissions not found: {sorted(missing)}")
        perms.extend(found)
    group.permissions.set(perms)
    return group
