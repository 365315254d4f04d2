"""Model versions in the admin: metrics, fine-tuning progress, "Fine-tune now" and rollback."""

from __future__ import annotations

from django.conf import settings
from django.contrib import admin, messages
from django.db.models import QuerySet
from django.http import HttpRequest

from inference.errors import UnknownModel
from webapp.core.admin_actions import ActionPermissionsMixin
from webapp.drawings.drift import drift_warnings_show
from webapp.drawings.selectors import shadow_summary
from webapp.modelversions.automatic import automatic_finetune_status
from webapp.modelversions.models import ModelVersion, VersionStatus
from webapp.modelversions.selectors import model_version_active
from webapp.modelversions.services import (
    ShadowRefused,
    model_finetune_enqueue,
    model_version_activate,
    model_version_shadow_set,
    model_version_shadow_stop,
    model_versions_sync,
)
from webapp.modelversions.shadow_promotion import ShadowVerdict, shadow_candidate_conclude, shadow_verdict


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
        "is_shadow",
        "holdout",
        "mnist",
        "temperature",
        "progress_text",
        "decision",
        "started_by",
        "created_at",
    ]
    list_filter = ["model_name", "status"]
    readonly_fields = [*(f.name for f in ModelVersion._meta.fields), "shadow_figures"]
    actions = ["finetune_now", "activate", "promote_from_shadow", "shadow_start", "shadow_stop"]

    def changelist_view(self, request: HttpRequest, extra_context: dict | None = None):  # type: ignore[override]
        model_versions_sync()  # artifacts on disk appear here on a fresh install
        if request.method == "GET":
            drift_warnings_show(request)
        names = ModelVersion.objects.values_list("model_name", flat=True).distinct().order_by("model_name")
        context = {
            "automatic_finetunes": [automatic_finetune_status(name) for name in names],
            "automatic_check_minutes": round(settings.FINETUNE_AUTO_CHECK_SECONDS / 60, 1),
            **(extra_context or {}),
        }
        return super().changelist_view(request, context)

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

    @admin.display(description="in the shadow")
    def shadow_figures(self, obj: ModelVersion) -> str:
        """Over the drawings this version answered in the shadow, beside the serving answers."""
        summary = shadow_summary(model_name=obj.model_name, version=obj.version)
        check = ""
        if obj.status == VersionStatus.CANDIDATE and obj.is_shadow:
            verdict = shadow_verdict(summary)
            check = f" Shadow check ({verdict.verdict}): {verdict.reason}"
        if summary is None:
            return ("No shadow answers yet." if obj.is_shadow else "-") + check
        labelled = (
            f"accuracy on the {summary.labelled} labelled: {_percent(summary.accuracy)} "
            f"(serving: {_percent(summary.serving_accuracy)})"
            if summary.labelled
            else "none of them labelled yet"
        )
        return (
            f"{summary.drawings} drawings; agrees with the serving version on {_percent(summary.agreement)}; "
            f"{labelled}; not a digit {_percent(summary.not_a_digit_share)} "
            f"(serving: {_percent(summary.serving_not_a_digit_share)}); "
            f"model time {summary.mean_inference_ms:.2f} ms per drawing.{check}"
        )

    @admin.action(description="Promote from the shadow (serve this version)", permissions=["activate"])
    def promote_from_shadow(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for record in queryset:
            if not record.is_shadow:
                self.message_user(request, f"{record} is not in the shadow.", messages.WARNING)
                continue
            reason = f"by {request.user.get_username()}, with {self.shadow_figures(record)}"
            shadow_candidate_conclude(record=record, verdict=ShadowVerdict("promote", reason))
            self.message_user(request, f"{record.model_name} v{record.version} now serves.", messages.SUCCESS)

    @admin.action(description="Run in the shadow of the serving version", permissions=["activate"])
    def shadow_start(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for record in queryset:
            try:
                model_version_shadow_set(model_name=record.model_name, version=record.version)
            except (ShadowRefused, UnknownModel) as exc:
                self.message_user(request, str(exc), messages.ERROR)
                continue
            self.message_user(
                request, f"{record.model_name} v{record.version} answers in the shadow.", messages.SUCCESS
            )

    @admin.action(description="Stop the shadow", permissions=["activate"])
    def shadow_stop(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for name in sorted(set(queryset.filter(is_shadow=True).values_list("model_name", flat=True))):
            model_version_shadow_stop(model_name=name)
            self.message_user(request, f"{name} has no shadow any more.", messages.SUCCESS)

    @admin.action(description="Activate this version (promote or roll back)", permissions=["activate"])
    def activate(self, request: HttpRequest, queryset: QuerySet[ModelVersion]) -> None:
        for record in queryset:
            model_version_activate(model_name=record.model_name, version=record.version)
            self.message_user(request, f"{record.model_name} v{record.version} now serves.", messages.SUCCESS)
