"""Staff review in the Django admin: who gets in, filters, the review queue, labelling, bulk actions."""

from __future__ import annotations

from datetime import timedelta
from urllib.parse import urlencode

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import timezone

from tests.factories import digit_canvas_png, drawing_factory, number_factory, processed_png, user_factory
from webapp.drawings.models import Drawing, LabelSource, Status
from webapp.drawings.selectors import review_queue, review_queue_next

pytestmark = pytest.mark.django_db

CHANGELIST = reverse("admin:drawings_drawing_changelist")


@pytest.fixture
def staff_client(client):
    client.force_login(user_factory(username="staff", superuser=True))
    return client


def admin_urls(drawing: Drawing) -> list[str]:
    return [
        CHANGELIST,
        CHANGELIST + "?order=queue",
        reverse("admin:drawings_drawing_change", args=[drawing.pk]),
        reverse("admin:drawings_drawing_review", args=[drawing.pk]),
        reverse("admin:drawings_drawing_statistics"),
    ]


def listed(client, query: str = "") -> set:
    response = client.get(CHANGELIST + query)
    assert response.status_code == 200
    return {d.pk for d in response.context["cl"].result_list}


def test_admin_pages_render_for_staff_with_images(staff_client):
    drawing = drawing_factory(digit=3, confidence=0.6, label=5)
    drawing_factory(digit=None)  # still queued: no processed image, no probabilities
    for url in admin_urls(drawing):
        response = staff_client.get(url)
        assert response.status_code == 200, url
    page = staff_client.get(reverse("admin:drawings_drawing_review", args=[drawing.pk])).content.decode()
    assert page.count('name="label"') == 11  # the ten digits and "not a digit"
    assert "data:image/png;base64," in page
    assert "60.0%" in page  # the predicted digit's probability bar
    assert "data:image/png;base64," in staff_client.get(CHANGELIST).content.decode()


def test_admin_pages_send_anonymous_users_to_the_login_page(client):
    drawing = drawing_factory()
    for url in admin_urls(drawing):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))
    response = client.post(reverse("admin:drawings_drawing_label", args=[drawing.pk]), {"label": "1"})
    assert response.status_code == 302 and response["Location"].startswith(reverse("admin:login"))
    assert Drawing.objects.get(pk=drawing.pk).label is None


def test_admin_pages_refuse_users_who_are_not_staff(client):
    drawing = drawing_factory()
    client.force_login(user_factory(username="visitor", staff=False))
    for url in admin_urls(drawing):
        response = client.get(url)
        assert response.status_code == 302, url
        assert response["Location"].startswith(reverse("admin:login"))
    client.post(reverse("admin:drawings_drawing_label", args=[drawing.pk]), {"label": "1"})
    assert Drawing.objects.get(pk=drawing.pk).label is None


def test_staff_without_drawing_permissions_get_403(client):
    drawing = drawing_factory()
    client.force_login(user_factory(username="other-staff"))
    for url in admin_urls(drawing):
        assert client.get(url).status_code == 403, url


def test_staff_who_may_only_view_cannot_label(client):
    drawing = drawing_factory()
    client.force_login(user_factory(username="viewer", perms=("drawings.view_drawing",)))
    assert client.get(reverse("admin:drawings_drawing_review", args=[drawing.pk])).status_code == 200
    response = client.post(reverse("admin:drawings_drawing_label", args=[drawing.pk]), {"label": "1"})
    assert response.status_code == 403
    assert Drawing.objects.get(pk=drawing.pk).label is None


def test_filters_select_the_drawings_they_name(staff_client, settings):
    settings.REVIEW_LOW_CONFIDENCE = 0.7
    agree = drawing_factory(digit=3, confidence=0.95, label=3)
    disagree = drawing_factory(digit=3, confidence=0.65, label=8, model_name="dense", model_version=2)
    unlabelled = drawing_factory(digit=7, confidence=0.5)
    queued = drawing_factory(digit=None, excluded_from_training=True)
    assert listed(staff_client) == {agree.pk, disagree.pk, unlabelled.pk, queued.pk}
    assert listed(staff_client, "?labelled=yes") == {agree.pk, disagree.pk}
    assert listed(staff_client, "?labelled=no") == {unlabelled.pk, queued.pk}
    assert listed(staff_client, "?disagreement=yes") == {disagree.pk}
    assert listed(staff_client, "?disagreement=no") == {agree.pk}
    assert listed(staff_client, "?low_confidence=yes") == {disagree.pk, unlabelled.pk}
    assert listed(staff_client, "?low_confidence=no") == {agree.pk}
    assert listed(staff_client, "?excluded_from_training__exact=1") == {queued.pk}
    assert listed(staff_client, "?model_name=dense") == {disagree.pk}
    assert listed(staff_client, "?model_version=2") == {disagree.pk}
    assert listed(staff_client, "?digit=7") == {unlabelled.pk}
    assert listed(staff_client, "?label=8") == {disagree.pk}
    assert listed(staff_client, f"?status={Status.QUEUED}") == {queued.pk}
    assert listed(staff_client, f"?q={str(disagree.pk)[:8]}") == {disagree.pk}
    assert listed(staff_client, f"?q={disagree.pk}") == {disagree.pk}


def test_date_filter_selects_drawings_of_that_day(staff_client):
    today = drawing_factory()
    old = drawing_factory(created_at=timezone.now() - timedelta(days=10))
    day = old.created_at.date()
    query = f"?created_at__year={day.year}&created_at__month={day.month}&created_at__day={day.day}"
    assert listed(staff_client, query) == {old.pk}
    midnight = timezone.now().replace(hour=0, minute=0, second=0, microsecond=0)
    assert today.pk in listed(staff_client, "?" + urlencode({"created_at__gte": midnight.isoformat()}))


def test_review_queue_puts_unlabelled_then_least_confident_first(staff_client):
    labelled_unsure = drawing_factory(confidence=0.2, label=1)
    sure = drawing_factory(confidence=0.99)
    unsure = drawing_factory(confidence=0.3)
    queued = drawing_factory(digit=None)
    labelled_sure = drawing_factory(confidence=0.9, label=1)
    order = [unsure.pk, sure.pk, queued.pk, labelled_unsure.pk, labelled_sure.pk]
    assert [d.pk for d in review_queue()] == order
    response = staff_client.get(CHANGELIST + "?order=queue")
    assert [d.pk for d in response.context["cl"].result_list] == order
    assert review_queue_next(drawing=unsure).pk == sure.pk
    assert review_queue_next(drawing=queued).pk == labelled_unsure.pk
    assert review_queue_next(drawing=labelled_sure).pk == unsure.pk  # back to what is still unlabelled
    start = staff_client.get(reverse("admin:drawings_drawing_review_start"))
    assert start["Location"] == reverse("admin:drawings_drawing_review", args=[unsure.pk])


def test_label_shortcut_labels_as_staff_and_moves_to_the_next_drawing(staff_client):
    first = drawing_factory(digit=4, confidence=0.3)
    second = drawing_factory(digit=4, confidence=0.6)
    response = staff_client.post(reverse("admin:drawings_drawing_label", args=[first.pk]), {"label": "9"})
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:drawings_drawing_review", args=[second.pk])
    first.refresh_from_db()
    assert (first.label, first.label_source) == (9, LabelSource.STAFF)
    assert first.labelled_at is not None
    assert history(first) == ["Labelled 9 on the review page."]
    # The last unlabelled one: after it come the labelled ones, still in queue order.
    response = staff_client.post(reverse("admin:drawings_drawing_label", args=[second.pk]), {"label": "4"})
    assert response["Location"] == reverse("admin:drawings_drawing_review", args=[first.pk])
    assert staff_client.get(response["Location"]).status_code == 200
    response = staff_client.post(reverse("admin:drawings_drawing_label", args=[second.pk]), {"label": "x"})
    assert response["Location"] == reverse("admin:drawings_drawing_review", args=[second.pk])
    second.refresh_from_db()
    assert second.label == 4


def test_review_page_links_skip_to_the_next_drawing_and_the_last_one_returns_to_the_list(staff_client):
    only = drawing_factory(confidence=0.3)
    page = staff_client.get(reverse("admin:drawings_drawing_review", args=[only.pk])).content.decode()
    assert 'id="skip"' not in page
    other = drawing_factory(confidence=0.4)
    page = staff_client.get(reverse("admin:drawings_drawing_review", args=[only.pk])).content.decode()
    assert reverse("admin:drawings_drawing_review", args=[other.pk]) in page
    response = staff_client.post(reverse("admin:drawings_drawing_label", args=[other.pk]), {"label": "2"})
    assert response["Location"] == reverse("admin:drawings_drawing_review", args=[only.pk])
    response = staff_client.post(reverse("admin:drawings_drawing_label", args=[only.pk]), {"label": "2"})
    assert response["Location"] == reverse("admin:drawings_drawing_review", args=[other.pk])
    response = staff_client.post(reverse("admin:drawings_drawing_label", args=[other.pk]), {"label": "2"})
    assert response["Location"] == CHANGELIST


def history(drawing: Drawing) -> list[str]:
    """The admin history of a drawing, under the staff user who changed it."""
    entries = LogEntry.objects.filter(object_id=str(drawing.pk), user__username="staff").order_by("action_time")
    return [entry.change_message for entry in entries]


def run_action(client, action: str, drawings: list[Drawing], **fields: str):
    data = {"action": action, "_selected_action": [str(d.pk) for d in drawings], "index": "0", **fields}
    return client.post(CHANGELIST, data, follow=True)


def test_set_label_action_labels_the_selected_drawings_as_staff(staff_client):
    chosen = [drawing_factory(), drawing_factory(label=1)]
    untouched = drawing_factory()
    response = run_action(staff_client, "label_set", chosen, label="6")
    assert "Labelled 2 drawings as 6." in response.content.decode()
    for drawing in chosen:
        drawing.refresh_from_db()
        assert (drawing.label, drawing.label_source) == (6, LabelSource.STAFF)
        assert history(drawing) == ["Labelled 6 with the drawing list's action."]
    untouched.refresh_from_db()
    assert untouched.label is None and history(untouched) == []
    response = run_action(staff_client, "label_set", [untouched])
    assert "Choose a label" in response.content.decode()
    untouched.refresh_from_db()
    assert untouched.label is None


def test_confirm_prediction_action_copies_the_digit_into_the_label(staff_client):
    answered = drawing_factory(digit=2)
    queued = drawing_factory(digit=None)
    response = run_action(staff_client, "prediction_confirm", [answered, queued])
    assert "Labelled 1 drawings with their prediction (1 without a prediction" in response.content.decode()
    answered.refresh_from_db()
    queued.refresh_from_db()
    assert (answered.label, answered.label_source) == (2, LabelSource.STAFF)
    assert queued.label is None
    assert history(answered) == ["Labelled with the model's answer (the drawing list's action)."]
    assert history(queued) == []


def test_exclude_and_include_actions_toggle_training_use(staff_client):
    drawings = [drawing_factory(label=1), drawing_factory(label=2)]
    run_action(staff_client, "training_exclude", drawings)
    assert Drawing.objects.filter(excluded_from_training=True).count() == 2
    run_action(staff_client, "training_include", drawings[:1])
    assert list(Drawing.objects.filter(excluded_from_training=True).values_list("pk", flat=True)) == [drawings[1].pk]


def test_rerun_action_creates_a_queued_copy_for_the_other_model(staff_client, django_capture_on_commit_callbacks):
    original = drawing_factory(digit=5, label=5, model_name="cnn", writer="w1")
    with django_capture_on_commit_callbacks() as callbacks:
        response = run_action(staff_client, "rerun", [original], model="numpy")
    assert "Queued 1 drawings again with numpy" in response.content.decode()
    copy = Drawing.objects.exclude(pk=original.pk).get()
    assert (copy.model_name, copy.status, copy.digit) == ("numpy", Status.QUEUED, None)
    assert bytes(copy.image) == bytes(original.image)
    assert (copy.label, copy.writer, copy.excluded_from_training) == (5, "w1", True)
    assert len(callbacks) == 1  # enqueued once the row is committed, like any drawing
    original.refresh_from_db()
    assert (original.model_name, original.excluded_from_training) == ("cnn", False)
    response = run_action(staff_client, "rerun", [original])
    assert "Choose a model" in response.content.decode()
    assert Drawing.objects.count() == 2


def test_the_list_of_a_hundred_drawings_never_loads_an_original_image(staff_client):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    for index in range(100):
        drawing_factory(digit=index % 10, thumbnail=processed_png(digit_canvas_png(index % 3)))
    with CaptureQueriesContext(connection) as queries:
        response = staff_client.get(CHANGELIST + "?all=")
    assert response.status_code == 200
    assert response.content.count(b"data:image/png") >= 200  # a thumbnail and a 28x28 per drawing
    column = f'"{Drawing._meta.db_table}"."image"'
    assert not [query["sql"] for query in queries.captured_queries if column in query["sql"]]


def test_a_number_drawing_is_reviewed_with_its_boxes_and_labelled_with_the_whole_number(staff_client):
    number = number_factory(read="2026")
    review = reverse("admin:drawings_drawing_review", args=[number.pk])
    page = staff_client.get(review).content.decode()
    assert 'name="number"' in page and 'value="2026"' in page
    assert page.count('class="digit"') == 4 and "box 40, 0, 30, 40" in page
    assert 'name="label"' not in page
    assert staff_client.get(reverse("admin:drawings_drawing_change", args=[number.pk])).status_code == 200
    assert "2026" in staff_client.get(CHANGELIST + "?kind=number").content.decode()
    assert (
        staff_client.post(reverse("admin:drawings_drawing_label", args=[number.pk]), {"number": "20x6"}).status_code
        == 302
    )
    number.refresh_from_db()
    assert number.number_label == ""
    staff_client.post(reverse("admin:drawings_drawing_label", args=[number.pk]), {"number": "2027"})
    number.refresh_from_db()
    assert (number.number_label, number.label_source, number.label) == ("2027", LabelSource.STAFF, None)
    assert "0 drawings not labelled yet" in staff_client.get(review).content.decode()


def test_digit_label_actions_leave_number_drawings_alone(staff_client):
    number = number_factory(read="15")
    run_action(staff_client, "label_set", [number], label="6")
    run_action(staff_client, "prediction_confirm", [number])
    number.refresh_from_db()
    assert number.label is None
