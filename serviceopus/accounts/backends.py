from django.contrib.auth.backends import ModelBackend

from .roles import CAPABILITIES


class RoleBackend(ModelBackend):
    """Grants the capabilities of the user's role (roles.CAPABILITIES) on top of Django's model perms."""

    def get_all_permissions(self, user_obj, obj=None):  # type: ignore[no-untyped-def]
        if not user_obj.is_active or user_obj.is_anonymous or obj is not None:
            return set()
        role_perms = set(CAPABILITIES.get(user_obj.role, ()))
        if not user_obj.is_staff:
            # Django's per-user and group permissions only matter in the admin site, which is for
            # staff; skipping them saves two queries on every request of everyone else.
            return role_perms
        return set(super().get_all_permissions(user_obj, obj)) | role_perms

    def has_perm(self, user_obj, perm, obj=None):  # type: ignore[no-untyped-def]
        if not user_obj.is_active:
            return False
        return perm in self.get_all_permissions(user_obj, obj)
