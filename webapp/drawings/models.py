"""Drawings people submit, with the job's state and the model's answer."""

from __future__ import annotations

import uuid

from django.db import models

from inference.answer import NOT_A_DIGIT
from inference.segment import MAX_PARTS


class Status(models.TextChoices):
    QUEUED = "queued"
    RUNNING = "running"
    DONE = "done"
    FAILED = "failed"


class Kind(models.TextChoices):
    """What was drawn: one digit, or a number whose digits the worker finds (`inference.segment`)."""

    DIGIT = "digit"
    NUMBER = "number"


class Source(models.TextChoices):
    WEB = "web", "Drawing page"
    API = "api", "API client"
    IMPORT = "import", "Imported data set"


class LabelSource(models.TextChoices):
    """Who set a drawing's trusted `label`. The drawer's own answer is kept apart, in `user_label`."""

    STAFF = "staff", "Staff review"
    IMPORT = "import", "Imported data set"


# The most digits a number may have (`inference.segment.MAX_PARTS`: more parts fail the drawing).
NUMBER_MAX_DIGITS = MAX_PARTS

# A label is a digit, or NOT_A_DIGIT (10, the models' 11th class) for a drawing that is not a digit.
LABEL_CHOICES = [*((digit, str(digit)) for digit in range(10)), (NOT_A_DIGIT, "not a digit")]

# How exports name a label that came from `user_label` (only when FINETUNE_TRUST_USER_LABELS is on).
USER_LABEL_SOURCE = "user"


class Drawing(models.Model):
    """One submitted drawing: the image, the job's status and timings, the answer and the label."""

    id = models.UUIDField(primary_key=True, default=uuid.uuid4, editable=False)
    created_at = models.DateTimeField(auto_now_add=True, db_index=True)

    # What was submitted and where it came from.
    kind = models.CharField(max_length=8, choices=Kind.choices, default=Kind.DIGIT, db_index=True)
    image = models.BinaryField(help_text="The submitted image, as sent (PNG or JPEG).")
    image_format = models.CharField(max_length=8, default="PNG")
    # Made from the image when a digit is submitted, so that the image is decoded once, by the web process.
    model_input = models.BinaryField(
        null=True, blank=True, editable=False, help_text="The 28x28 float32 array the model sees (digits)."
    )
    source = models.CharField(max_length=8, choices=Source.choices, default=Source.API, db_index=True)
    user_agent = models.CharField(max_length=400, blank=True, default="")
    canvas_width = models.PositiveIntegerField(null=True, blank=True)
    canvas_height = models.PositiveIntegerField(null=True, blank=True)
    client_id = models.CharField(max_length=64, blank=True, default="", db_index=True)
    strokes = models.JSONField(null=True, blank=True)
    writer = models.CharField(max_length=128, blank=True, default="", db_index=True)
    external_id = models.CharField(
        max_length=255, null=True, blank=True, unique=True, help_text="Source key of imported drawings."
    )

    # The job.
    model_name = models.CharField(max_length=16, db_index=True)
    model_version = models.PositiveIntegerField(null=True, blank=True, db_index=True)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    enqueued_at = models.DateTimeField(null=True, blank=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    # Set by the claim itself, so a job is never running without one: the requeue sweep asks whether it lives.
    owner = models.CharField(
        max_length=255, blank=True, default="", help_text="The worker process (host:pid) that claimed the job last."
    )
    error_code = models.CharField(max_length=64, blank=True, default="")
    error_message = models.TextField(blank=True, default="")
    queue_ms = models.FloatField(null=True, blank=True)
    preprocess_ms = models.FloatField(null=True, blank=True)
    inference_ms = models.FloatField(null=True, blank=True)
    total_ms = models.FloatField(null=True, blank=True)

    # The answer.
    processed_image = models.BinaryField(null=True, blank=True, help_text="The 28x28 PNG the model saw.")
    thumbnail = models.BinaryField(
        null=True, blank=True, help_text="A small PNG of the drawing, made at submit or with the job, for lists."
    )
    digit = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True)
    confidence = models.FloatField(null=True, blank=True, db_index=True)
    probabilities = models.JSONField(null=True, blank=True, help_text="The ten digits' probabilities.")
    # The model said it is not a digit (`digit` is then null; models of ten classes never say so).
    not_a_digit = models.BooleanField(default=False)
    not_a_digit_probability = models.FloatField(null=True, blank=True)
    not_a_digit_voters = models.JSONField(
        null=True,
        blank=True,
        help_text='The model versions whose mean margin decided "not a digit", e.g. {"cnn": 7, "dense": 7,'
        ' "numpy": 6} (inference.committee); null when the model decided alone.',
    )
    # How much a reviewer's label would teach the models (inference.review_order): the review pages'
    # order, most valuable first; null for numbers and for drawings answered before it was kept.
    label_value = models.FloatField(null=True, blank=True, db_index=True)
    # The share of the committee's members whose own answer is the committee's (1: all agree); null for
    # numbers and for drawings answered before it was kept.
    committee_agreement = models.FloatField(null=True, blank=True)
    # The answer to a number: its digits left to right (null when none was found) and, per digit, the
    # digit, confidence, box [x, y, w, h] in the image's pixels and 28x28 processed image (data URL).
    number = models.CharField(max_length=NUMBER_MAX_DIGITS, null=True, blank=True)
    digits = models.JSONField(null=True, blank=True)
    # The explanation, computed only when asked for (at submit or later): a 28x28 heat-map PNG.
    explain = models.BooleanField(default=False, help_text="A saliency map was asked for.")
    saliency = models.BinaryField(
        null=True, blank=True, help_text="28x28 RGBA PNG: which pixels spoke for (orange) or against (blue) the digit."
    )

    # What the digit really is: the trusted label (staff review or an imported data set) ...
    label = models.PositiveSmallIntegerField(null=True, blank=True, db_index=True, choices=LABEL_CHOICES)
    label_source = models.CharField(max_length=8, choices=LabelSource.choices, blank=True, default="")
    labelled_at = models.DateTimeField(null=True, blank=True)
    # ... and, apart from it, what the person who drew it said (anyone holding the feedback token).
    user_label = models.PositiveSmallIntegerField(
        null=True,
        blank=True,
        db_index=True,
        choices=LABEL_CHOICES,
        help_text="What the person who drew it said it is (not reviewed).",
    )
    user_labelled_at = models.DateTimeField(null=True, blank=True)
    # A number's labels, as strings of digits: the trusted one (staff review) and the drawer's.
    number_label = models.CharField(max_length=NUMBER_MAX_DIGITS, blank=True, default="")
    user_number_label = models.CharField(max_length=NUMBER_MAX_DIGITS, blank=True, default="")
    excluded_from_training = models.BooleanField(default=False, db_index=True)
    # A trusted label that confident learning finds likely wrong, with the class it suspects instead
    # (webapp.drawings.services.label_issues); null when the label looks right or a reviewer confirmed it.
    suspected_label = models.PositiveSmallIntegerField(
        null=True, blank=True, db_index=True, choices=LABEL_CHOICES, help_text="What the label is likely to be."
    )
    # When a reviewer last looked at a suspected label and kept or changed it: it is not suspected again.
    label_confirmed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        indexes = [
            models.Index(fields=["status", "created_at"], name="drawing_status_created"),
            models.Index(fields=["model_name", "model_version"], name="drawing_model_version"),
        ]

    def __str__(self) -> str:
        return f"{self.id} ({self.model_name}, {self.status})"

    @property
    def answer_class(self) -> int | None:
        """The class the model answered: the digit, or NOT_A_DIGIT."""
        return NOT_A_DIGIT if self.not_a_digit else self.digit

    @property
    def is_finished(self) -> bool:
        return self.status in (Status.DONE, Status.FAILED)

    @property
    def explanation_pending(self) -> bool:
        """Answered, and a saliency map was asked for but is not there yet."""
        return self.explain and self.status == Status.DONE and self.saliency is None

    @property
    def is_answered(self) -> bool:
        """Nothing more is coming: finished, with its explanation if one was asked for."""
        return self.is_finished and not self.explanation_pending


class ShadowAnswer(models.Model):
    """A shadow version's answer to a drawing, stored after the serving answer was published; never shown
    to the drawer. One per drawing and version, written in one INSERT per batch."""

    drawing = models.ForeignKey(Drawing, on_delete=models.CASCADE, related_name="shadow_answers")
    model_name = models.CharField(max_length=16)
    model_version = models.PositiveIntegerField()
    digit = models.PositiveSmallIntegerField(null=True, blank=True)
    not_a_digit = models.BooleanField(default=False)
    confidence = models.FloatField()
    # Same answer as the serving version's: the same digit, or both "not a digit".
    agrees = models.BooleanField()
    inference_ms = models.FloatField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["drawing", "model_name", "model_version"], name="one_shadow_answer_per_version"
            )
        ]
        indexes = [models.Index(fields=["model_name", "model_version", "created_at"])]

    def __str__(self) -> str:
        return f"{self.model_name} v{self.model_version} on {self.drawing_id}"
