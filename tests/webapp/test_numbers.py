"""Numbers through the API and a real worker: each digit found, read in one batch, boxed; bad input refused."""

from __future__ import annotations

import pytest

from inference.segment import MAX_PARTS
from inference.strokes import draw_strokes, to_png_bytes
from tests.factories import canvas_png, data_url, mnist, number_drawing, number_factory
from training.evaluation.numbers import NUMBER_CANVAS

pytestmark = pytest.mark.django_db(transaction=True)


def submit(client, body: dict) -> dict:
    response = client.post("/api/drawings/", body, content_type="application/json")
    assert response.status_code == 202, response.content
    return response.json()


def result(client, created: dict) -> dict:
    return client.get(f"/api/drawings/{created['id']}/?wait=10").json()


@pytest.mark.parametrize("kind", ["letter", "", "NUMBER", 3])
def test_a_kind_other_than_digit_or_number_is_rejected_with_400(client, kind):
    body = {"image": data_url(canvas_png(mnist().x_test[0])), "kind": kind}
    response = client.post("/api/drawings/", body, content_type="application/json")
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_kind"
    assert response.json()["error"]["field"] == "kind"


def test_a_number_drawing_is_read_digit_by_digit_and_corrected_as_a_whole(client, celery_worker_process):
    png, strokes, digits = number_drawing("2026")
    width, height = NUMBER_CANVAS
    body = {"image": data_url(png), "kind": "number", "strokes": strokes, "canvas_width": width}
    created = submit(client, {**body, "canvas_height": height})
    assert created["kind"] == "number"
    answer = result(client, created)
    assert answer["status"] == "done", answer
    assert answer["number"] == digits == "2026"
    assert [d["digit"] for d in answer["digits"]] == [2, 0, 2, 6]
    boxes = [d["box"] for d in answer["digits"]]
    assert all(x + w <= width and y + h <= height and w > 0 and h > 0 for x, y, w, h in boxes)
    assert [box[0] for box in boxes] == sorted(box[0] for box in boxes)
    assert all(
        d["processed_image"].startswith("data:image/png;base64,") and 0 < d["confidence"] <= 1 for d in answer["digits"]
    )
    assert answer["digit"] is None and answer["probabilities"] is None
    assert answer["timings"]["inference_ms"] > 0
    label = f"/api/drawings/{created['id']}/label/"
    token = created["feedback_token"]
    wrong = client.post(label, {"label": 2, "feedback_token": token}, content_type="application/json")
    assert wrong.status_code == 400 and wrong.json()["error"]["code"] == "invalid_number"
    sent = client.post(label, {"number": "2027", "feedback_token": token}, content_type="application/json")
    assert sent.status_code == 200 and sent.json()["user_number_label"] == "2027"
    assert client.post(label, {"number": "2027"}, content_type="application/json").status_code == 403


def test_a_number_read_from_the_image_alone_has_the_same_digits(client, celery_worker_process):
    png, _, digits = number_drawing("2026")
    answer = result(client, submit(client, {"image": data_url(png), "kind": "number"}))
    assert answer["status"] == "done" and answer["number"] == digits


def test_a_number_drawing_with_only_a_speck_of_ink_is_done_with_number_null(client, celery_worker_process):
    speck = to_png_bytes(draw_strokes([[(500.0, 200.0)]], size=NUMBER_CANVAS, stroke_width=3))
    answer = result(client, submit(client, {"image": data_url(speck), "kind": "number"}))
    assert answer["status"] == "done", answer
    assert answer["number"] is None and answer["digits"] == []


def test_more_than_twenty_parts_fail_the_drawing_with_too_many_parts(client, celery_worker_process):
    dots = [[(30.0 + 50 * i, 200.0)] for i in range(MAX_PARTS + 1)]
    png = to_png_bytes(draw_strokes(dots, size=NUMBER_CANVAS))
    answer = result(client, submit(client, {"image": data_url(png), "kind": "number"}))
    assert answer["status"] == "failed"
    assert answer["error"]["code"] == "too_many_parts"


def test_numbers_are_not_explained(client):
    png, _, _ = number_drawing("12")
    body = {"image": data_url(png), "kind": "number", "explain": True}
    response = client.post("/api/drawings/", body, content_type="application/json")
    assert response.status_code == 400 and response.json()["error"]["code"] == "not_explainable"
    created = submit(client, {"image": data_url(png), "kind": "number"})
    response = client.post(f"/api/drawings/{created['id']}/explain/")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_explainable"


def test_staff_labelled_numbers_train_their_digits_when_the_count_matches(settings):
    from webapp.drawings.selectors import training_drawings, training_writer_keys
    from webapp.drawings.services.labels import drawing_number_label

    drawing_number_label(drawing=number_factory(read="2026", writer="a"), number="2027")
    drawing_number_label(drawing=number_factory(read="202", writer="b"), number="2026")  # a digit was missed
    number_factory(read="15", writer="c", user_number_label="16")
    number_factory(read="15", writer="d", number_label="15", excluded_from_training=True)

    settings.FINETUNE_TRUST_USER_LABELS = False
    found = list(training_drawings())
    assert [d.label for d in found] == [2, 0, 2, 7]
    assert all(d.writer_key == "writer:a" and d.pixels.shape == (28, 28) for d in found)
    assert training_writer_keys() == {"writer:a", "writer:b"}

    settings.FINETUNE_TRUST_USER_LABELS = True
    assert sorted(d.label for d in training_drawings()) == [0, 1, 2, 2, 6, 7]
