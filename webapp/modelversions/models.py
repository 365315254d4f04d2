"""Versions of each model: their stored artifact, how they scored, which one serves."""

from __future__ import annotations

from django.db import models


class VersionStatus(models.TextChoices):
    TRAINING = "training"
    PROMOTED = "promoted"
    REJECTED = "rejected"
    CANDIDATE = "candidate", "Passed the gate; in the shadow before it serves"
    FAILED = "failed"
    BASE = "base", "Trained on MNIST"


class ModelVersion(models.Model):
    """One trained artifact of a model (MODEL_DIR/<model_name>/<version>/)."""

    model_name = models.CharField(max_length=16, db_index=True)
    version = models.PositiveIntegerField()
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="children")
    artifact = models.CharField(max_length=500, blank=True, default="")
    status = models.CharField(max_length=10, choices=VersionStatus.choices, default=VersionStatus.TRAINING)
    is_active = models.BooleanField(default=False, db_index=True)
    # Runs beside the serving version on live drawings, its answers stored apart and never shown.
    is_shadow = models.BooleanField(default=False, db_index=True)
    metrics = models.JSONField(default=dict, blank=True)
    data_counts = models.JSONField(default=dict, blank=True)
    training_seconds = models.FloatField(null=True, blank=True)
    temperature = models.FloatField(
        null=True, blank=True, help_text="Divides the logits before the softmax (calibrated confidence); from the card."
    )
    progress = models.JSONField(default=dict, blank=True, help_text="Fine-tuning progress, step by step.")
    decision = models.TextField(blank=True, default="", help_text="Why it was or was not promoted.")
    started_by = models.CharField(max_length=150, blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["model_name", "-version"]
        # Beyond view/change: serving a version and starting a fine-tune are separate rights in the admin.
        permissions = [
            ("activate_modelversion", "Can activate a model version (promote or roll back)"),
            ("finetune_modelversion", "Can start fine-tuning a model"),
        ]
        constraints = [
            models.UniqueConstraint(fields=["model_name", "version"], name="model_version_unique"),
            models.UniqueConstraint(
                fields=["model_name"], condition=models.Q(is_active=True), name="one_active_version_per_model"
            ),
            models.UniqueConstraint(
                fields=["model_name"], condition=models.Q(is_shadow=True), name="one_shadow_version_per_model"
            ),
        ]

    def __str__(self) -> str:
        mark = " (active)" if self.is_active else " (shadow)" if self.is_shadow else ""
        return f"{self.model_name} v{self.version}{mark}"


class ModelArtifact(models.Model):
    """The files of one version (weights and card) as a zip in the database, so that a worker on any
    machine can fetch them into its own MODEL_DIR and check them against `sha256` and `files` first."""

    model_version = models.OneToOneField(ModelVersion, on_delete=models.CASCADE, related_name="stored_artifact")
    archive = models.BinaryField(help_text="Zip of the version directory's files.")
    sha256 = models.CharField(max_length=64, help_text="Checksum of the archive.")
    files = models.JSONField(help_text="Checksum (sha256) of each file in the archive, by file name.")
    size = models.PositiveBigIntegerField()
    card = models.JSONField(help_text="The card in the archive, readable without fetching it.")
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.model_version.model_name} v{self.model_version.version} ({self.size} bytes)"


class HoldoutWriter(models.Model):
    """Which side of the train/holdout split a writer is on, fixed once chosen so that every
    version is compared on the same held-out writers."""

    writer_key = models.CharField(max_length=200, unique=True)
    held_out = models.BooleanField(db_index=True)
    assigned_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.writer_key} ({'holdout' if self.held_out else 'train'})"
