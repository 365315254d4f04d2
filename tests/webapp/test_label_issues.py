"""Labels likely wrong: confident learning marks them (never changes them), fine-tuning leaves them out,
and a reviewer confirms or corrects them on the grid review, each answer in the admin's history."""

from __future__ import annotations

import io
import os
import time

import pytest
from django.contrib.admin.models import CHANGE, LogEntry
from django.core.management import call_command
from django.urls import reverse

from tests.conftest import start_worker
from tests.factories import drawing_factory, user_factory
from webapp.drawings.models import Drawing
from webapp.drawings.selectors import training_labelled
from webapp.drawings.services.label_issues import label_issues_find
from webapp.drawings.tasks import drawings_label_issues_task

GRID = reverse("admin:drawings_drawing_review_grid")
GRID_LABEL = reverse("admin:drawings_drawing_review_grid_label")
CHANGELIST = reverse("admin:drawings_drawing_changelist")


def labelled_set(clean_per_digit: int = 20) -> tuple[list[Drawing], list[Drawing]]:
    """Drawings whose answers are sure of their labels, and ten whose labels contradict a sure answer."""
    clean = [
        drawing_factory(digit=digit, confidence=0.97, label=digit)
        for digit in range(10)
        for _ in range(clean_per_digit)
    ]
    wrong = [drawing_factory(digit=digit, confidence=0.98, label=(digit + 3) % 10) for digit in range(10)]
    return clean, wrong


@pytest.mark.django_db
def test_labels_that_contradict_a_sure_answer_are_suspected_and_never_changed():
    clean, wrong = labelled_set()
    found = label_issues_find()
    assert (found.checked, found.suspected) == (210, 10)
    for drawing in wrong:
        drawing.refresh_from_db()
        assert drawing.suspected_label == drawing.digit  # what the label is likely to be
        assert drawing.label == (drawing.digit + 3) % 10  # unchanged
    assert not Drawing.objects.filter(pk__in=[d.pk for d in clean], suspected_label__isnull=False).exists()


@pytest.mark.django_db
def test_fine_tuning_leaves_suspected_labels_out_unless_told_otherwise(settings):
    _, wrong = labelled_set(5)
    label_issues_find()
    assert training_labelled().count() == 50
    assert not training_labelled().filter(pk__in=[d.pk for d in wrong]).exists()
    settings.FINETUNE_SKIP_SUSPECTED_LABELS = False
    assert training_labelled().count() == 60


@pytest.mark.django_db
def test_a_label_no_longer_suspected_is_cleared_on_the_next_search():
    _, wrong = labelled_set(5)
    label_issues_find()
    Drawing.objects.filter(pk=wrong[0].pk).update(label=wrong[0].digit)  # an import corrected it
    found = label_issues_find()
    assert (found.suspected, found.cleared) == (9, 1)


@pytest.mark.django_db
def test_the_admin_filters_the_suspected_labels_and_says_what_they_are_likely_to_be(client):
    _, wrong = labelled_set(5)
    label_issues_find()
    client.force_login(user_factory(username="viewer", perms=("drawings.view_drawing",)))
    page = client.get(CHANGELIST, {"suspected": "yes"}).content.decode()
    assert "Likely mislabelled" in page
    assert f"{wrong[0].label} (likely {wrong[0].digit})" in page
    assert page.count("(likely ") == 10  # the ten suspected, and nothing else
    assert "Labels likely wrong (10)" in client.get(CHANGELIST).content.decode()


@pytest.mark.django_db
def test_a_reviewer_confirms_or_corrects_a_page_of_suspected_labels_and_they_stay_confirmed(client):
    _, wrong = labelled_set(5)
    label_issues_find()
    reviewer = user_factory(username="editor", perms=("drawings.view_drawing", "drawings.change_drawing"))
    client.force_login(reviewer)
    page = client.get(GRID, {"suspected": "1"}).content.decode()
    assert "the models doubt it" in page and page.count("likely ") >= 10
    # The first five really were mislabelled (the reviewer types the digit); the rest keep their label.
    posted = {f"label-{d.pk}": str(d.digit if i < 5 else d.label) for i, d in enumerate(wrong)}
    response = client.post(GRID_LABEL, {**posted, "suspected": "1"})
    assert response.status_code == 302 and response["Location"].endswith("?suspected=1")
    for index, drawing in enumerate(wrong):
        drawing.refresh_from_db()
        assert drawing.label == (drawing.digit if index < 5 else (drawing.digit + 3) % 10)
        assert drawing.suspected_label is None and drawing.label_confirmed_at is not None
    history = LogEntry.objects.filter(user=reviewer, action_flag=CHANGE)
    assert history.count() == 10
    assert history.filter(change_message__startswith="Confirmed the label").count() == 5
    assert label_issues_find().suspected == 0  # confirmed labels are not suspected again
    assert "No label is suspected wrong" in client.get(GRID, {"suspected": "1"}).content.decode()


@pytest.mark.django_db
def test_the_command_reports_what_it_found():
    labelled_set(5)
    out = io.StringIO()
    call_command("find_label_issues", stdout=out)
    assert out.getvalue().strip() == "10 of 60 trusted labels are likely wrong (0 no longer suspected)."


@pytest.mark.django_db(transaction=True)
def test_the_search_runs_on_the_training_worker(worker_env, tmp_path):
    _, wrong = labelled_set(5)
    worker = start_worker(worker_env, f"labels{os.getpid()}", tmp_path, queues="training")
    try:
        drawings_label_issues_task.delay()
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and Drawing.objects.filter(suspected_label__isnull=False).count() < 10:
            time.sleep(0.1)
        assert set(Drawing.objects.filter(suspected_label__isnull=False).values_list("pk", flat=True)) == {
            d.pk for d in wrong
        }
    finally:
        worker.stop()


@pytest.mark.django_db
def test_a_staff_label_from_the_list_or_the_review_page_confirms_a_suspected_one(client):
    _, wrong = labelled_set(5)
    label_issues_find()
    client.force_login(user_factory(username="editor", superuser=True))
    client.post(
        CHANGELIST,
        {"action": "label_set", "_selected_action": [str(wrong[0].pk)], "label": str(wrong[0].digit), "index": "0"},
    )
    client.post(reverse("admin:drawings_drawing_label", args=[wrong[1].pk]), {"label": str(wrong[1].label)})
    for drawing, label in ((wrong[0], wrong[0].digit), (wrong[1], wrong[1].label)):
        drawing.refresh_from_db()
        assert (drawing.label, drawing.suspected_label) == (label, None)
        assert drawing.label_confirmed_at is not None
    assert label_issues_find().suspected == 8
