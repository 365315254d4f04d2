"""Model versions in the admin: metrics, fine-tuning progress, "Fine-tune now" and rollback."""

from __future__ import annotations

from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from webapp.core.admin_actions import ActionPermissionsMixin
from webapp.modelversions.models import ModelVersion
from webapp.modelversions.selectors import model_version_active
from webapp.modelversions.services import model_finetune_enqueue, model_version_activate, model_versions_sync


def _percent(value: float | None) -> str:
    return "-" if value is None else f"{value * 100:.2f}%"


@admin.register(ModelVersion)
class ModelVersionAdmin(ActionPermissionsMixin, admin.ModelAdmin):
    list_display = [
        "model_name",
        "version",
        "parent_version",
        "status",
        "serving",
        "holdout",
        "mnist",
        "temperature",
        "progress_text",
        "decision",
        "started_by",
        "created_at",
    ]
    list_filter = ["model_name", "status"]
    readonly_fields = [f.name for f in ModelVersion._meta.fields]
    actions = ["finetune_now", "activate"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):  # type: ignore[override]
        model_versions_sync()  # artifacts on disk appear here on a fresh install
        return super().changelist_view(request, extra_context)

    @admin.display(description="parent")
    def parent_version(self, obj: ModelVersion) -> str:
        return f"v{obj.parent.version}" if obj.parent else "-"

    @admin.display(description="serving", boolean=True)
    def serving(self, obj: ModelVersion) -> bool:
        """The version new jobs use: the activated row, or on a fresh install the newest artifact."""
        return model_version_active(obj.model_name) == obj.version

    @admin.display(description="website holdout")
    def holdout(self, obj: ModelVersion) -> str:
        return _percent(obj.metrics.get("holdout_accuracy"))

    @admin.display(description="MNIST test")
    def mnist(self, obj: ModelVersion) -> str:
        return _percent(obj.metrics.get("mnist_test_accuracy"))

    @admin.display(description="progress")
    def progress_text(self, obj: ModelVersion) -> str:
        if not obj.progress.get("total"):
            return "-"
        step = obj.progress["step"]
        figures = obj.progress.get(str(step), {})
        return f"step {step}/{obj.progress['total']}, holdout {_percent(figures.get('holdout_accuracy'))}"

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: ModelVersion | None = None) -> bool:
        return False

    def has_activate_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("modelversions.activate_modelversion")

    def has_finetune_permission(self, request: HttpRequest) -> bool:
        return request.user.has_perm("modelversions.finetune_modelversion")

    @admin.action(description="Fine-tune now (from the model's active version)", permissions=["finetune"])
    def finetune_now(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for name in sorted(set(queryset.values_list("model_name", flat=True))):
            model_finetune_enqueue(model_name=name, started_by=request.user.get_username())
            self.message_user(request, f"Fine-tuning of {name} queued; its progress shows here.", messages.SUCCESS)

    @admin.action(description="Activate this version (promote or roll back)", permissions=["activate"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for record in queryset:
            model_version_activate(model_name=record.model_name, version=record.version)
            self.message_user(request, f"{record.model_name} v{record.version} now serves.", messages.SUCCESS)
