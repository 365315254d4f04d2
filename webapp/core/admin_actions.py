"""Admin actions answer 403 to a user without their permission, instead of Django's quiet "No action selected"."""

from __future__ import annotations

from typing import Any

from django.contrib import admin
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse


class ActionPermissionsMixin(admin.ModelAdmin):
    """Django offers a user only the actions whose `permissions` they hold; this also refuses (403) a
    posted action that exists but is not theirs, so a hand-made POST cannot look like a mere mistake."""

    def changelist_view(self, request: HttpRequest, extra_context: dict[str, Any] | None = None) -> HttpResponse:
        name = _posted_action(request)
        if name is not None and name in self._action_names() and name not in self.get_actions(request):
            raise PermissionDenied
        return super().changelist_view(request, extra_context)

    def _action_names(self) -> set[str]:
        """Every action of this admin, whoever asks (the site's, like delete_selected, included)."""
        own = {action[1] for action in map(self.get_action, self.actions or []) if action}
        return own | {name for name, _ in self.admin_site.actions}


def _posted_action(request: HttpRequest) -> str | None:
    """The action a changelist POST runs (the list may show the action bar twice: `index` says which)."""
    if request.method != "POST" or "action" not in request.POST or "_save" in request.POST:
        return None
    names = request.POST.getlist("action")
    try:
        index = int(request.POST.get("index", 0))
    except ValueError:
        return None
    return names[index] if 0 <= index < len(names) else None
