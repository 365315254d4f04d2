"""Promotion from the shadow: a fine-tune that passed the gate with FINETUNE_PROMOTE=shadow answers live
drawings in the shadow, and the scheduler's check promotes it once live traffic agrees.

The rule, in order: wait for SHADOW_MIN_DRAWINGS shadow answers; reject below SHADOW_MIN_AGREEMENT
agreement with the serving version; wait for SHADOW_MIN_LABELLED of those drawings to be labelled; reject
if the candidate reads the labelled ones worse than the serving version did; else promote.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from typing import Literal

from django.conf import settings
from django.db import transaction

from inference import registry
from webapp.drawings.selectors import ShadowSummary, shadow_summary
from webapp.modelversions.models import ModelVersion, VersionStatus
from webapp.modelversions.services import model_version_activate

logger = logging.getLogger(__name__)

Verdict = Literal["wait", "promote", "reject"]


@dataclass(frozen=True)
class ShadowVerdict:
    """What the shadow check decides for a candidate now, and why, as the admin says it."""

    verdict: Verdict
    reason: str


def _percent(value: float) -> str:
    return f"{value * 100:.2f}%"


def shadow_verdict(summary: ShadowSummary | None) -> ShadowVerdict:
    """Apply the rule to a candidate's shadow figures (None: no shadow answers yet)."""
    drawings = summary.drawings if summary else 0
    if summary is None or drawings < settings.SHADOW_MIN_DRAWINGS:
        return ShadowVerdict("wait", f"{drawings} of {settings.SHADOW_MIN_DRAWINGS} drawings answered in the shadow.")
    agreement = f"agrees with the serving version on {_percent(summary.agreement)}"
    if summary.agreement < settings.SHADOW_MIN_AGREEMENT:
        return ShadowVerdict("reject", f"{agreement}, below {_percent(settings.SHADOW_MIN_AGREEMENT)}.")
    if summary.labelled < settings.SHADOW_MIN_LABELLED:
        return ShadowVerdict(
            "wait", f"{agreement}; {summary.labelled} of {settings.SHADOW_MIN_LABELLED} of its drawings labelled."
        )
    if summary.accuracy is None or summary.serving_accuracy is None:  # SHADOW_MIN_LABELLED=0, nothing labelled
        return ShadowVerdict("promote", f"{agreement}; none of its drawings labelled (none asked for).")
    accuracy = (
        f"reads {_percent(summary.accuracy)} of the {summary.labelled} labelled "
        f"(serving: {_percent(summary.serving_accuracy)})"
    )
    if summary.accuracy < summary.serving_accuracy:
        return ShadowVerdict("reject", f"{agreement}; {accuracy}.")
    return ShadowVerdict("promote", f"{agreement}; {accuracy}.")


def shadow_candidate_conclude(*, record: ModelVersion, verdict: ShadowVerdict) -> None:
    """Promote or reject a version in the shadow, recording why on its row and, where this machine has
    its files, on its card."""
    with transaction.atomic():
        if verdict.verdict == "promote":
            model_version_activate(model_name=record.model_name, version=record.version)
            record.refresh_from_db()
            record.decision = f"Promoted from the shadow: {verdict.reason}"
        else:
            record.is_shadow = False
            record.status = VersionStatus.REJECTED
            record.decision = f"Rejected in the shadow: {verdict.reason}"
        record.save(update_fields=["status", "decision", "is_shadow"])
    if registry.artifact_dir(record.model_name, record.version).is_dir():
        registry.card_update(
            record.model_name,
            record.version,
            {"rejected": record.status == VersionStatus.REJECTED, "decision": record.decision},
        )


def shadow_candidates_check() -> list[str]:
    """The scheduler's check: decide every candidate in the shadow; returns what was decided."""
    decided = []
    for record in ModelVersion.objects.filter(status=VersionStatus.CANDIDATE, is_shadow=True):
        verdict = shadow_verdict(shadow_summary(model_name=record.model_name, version=record.version))
        if verdict.verdict == "wait":
            continue
        shadow_candidate_conclude(record=record, verdict=verdict)
        logger.info("%s: %s", record, record.decision)
        decided.append(f"{record.model_name} v{record.version}: {record.decision}")
    return decided
