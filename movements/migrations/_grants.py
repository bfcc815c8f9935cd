"""Shared by the migrations that give roles their permissions (not a migration itself: the name starts with _)."""

from django.contrib.auth.management import create_permissions


def grant(apps, role, codenames, app_label="movements"):
    # Permissions are normally created after all migrations have run; roles need them now.
    app_config = apps.get_app_config(app_label)
    app_config.models_module = True
    create_permissions(app_config, apps=apps, verbosity=0)
    app_config.models_module = None
    Group = apps.get_model("auth", "Group")
    Permission = apps.get_model("auth", "Permission")
    group, _ = Group.objects.get_or_create(name=role)
    perms = Permission.objects.filter(content_type__app_label=app_label, codename__in=codenames)
    missing = set(codenames) - set(perms.values_list("codename", flat=True))
    if missing:
        raise RuntimeError(f"Role {role}: permissions not found: {sorted(missing)}")
    group.permissions.add(*perms)
