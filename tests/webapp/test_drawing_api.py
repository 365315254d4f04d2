"""The drawing API's contract: long poll, labels, the model list, health, the schema."""

from __future__ import annotations

import re
import time

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from tests.factories import canvas_png, data_url, mnist
from webapp.drawings.models import Drawing

pytestmark = pytest.mark.django_db(transaction=True)


def submit(client, index: int = 0, model: str = "cnn") -> dict:
    response = client.post(
        "/api/drawings/",
        {"image": data_url(canvas_png(mnist().x_test[index])), "model": model},
        content_type="application/json",
    )
    assert response.status_code == 202, response.content
    return response.json()


def test_drawing_is_committed_before_the_answer(client):
    created = submit(client)
    assert Drawing.objects.filter(pk=created["id"]).exists()


def test_long_poll_answers_as_soon_as_the_job_is_done(client, celery_worker_process):
    warm_up = submit(client)
    assert client.get(f"/api/drawings/{warm_up['id']}/?wait=10").json()["status"] == "done"
    created = submit(client)
    started = time.monotonic()
    result = client.get(f"/api/drawings/{created['id']}/?wait=10").json()
    assert result["status"] == "done"
    assert time.monotonic() - started < 5


def test_long_poll_on_an_unfinished_drawing_waits_without_polling_the_database(client):
    drawing = Drawing.objects.create(image=canvas_png(mnist().x_test[0]), model_name="cnn")
    started = time.monotonic()
    with CaptureQueriesContext(connection) as queries:
        result = client.get(f"/api/drawings/{drawing.id}/?wait=1.5").json()
    elapsed = time.monotonic() - started
    assert result["status"] == "queued"
    assert 1.4 <= elapsed < 4
    assert len(queries) <= 3


def test_feedback_with_the_token_is_recorded_as_the_drawers_answer(client, celery_worker_process):
    created = submit(client, index=1)
    body = {"label": 2, "feedback_token": created["feedback_token"]}
    response = client.post(f"/api/drawings/{created['id']}/label/", body, content_type="application/json")
    assert response.status_code == 200
    assert (response.json()["user_label"], response.json()["label"]) == (2, None)
    drawing = Drawing.objects.get(pk=created["id"])
    assert drawing.user_label == 2 and drawing.user_labelled_at and drawing.label is None
    answer = client.get(f"/api/drawings/{created['id']}/").json()
    assert answer["user_label"] == 2 and "feedback_token" not in answer


def test_client_id_and_strokes_are_stored_with_the_drawing(client):
    strokes = [[[100, 80, 0], [110, 300, 120]], [[90, 90, 400], [95, 95, 410]]]
    response = client.post(
        "/api/drawings/",
        {
            "image": data_url(canvas_png(mnist().x_test[2])),
            "client_id": "abc-123",
            "strokes": strokes,
            "canvas_width": 400,
            "canvas_height": 400,
        },
        content_type="application/json",
        HTTP_USER_AGENT="pytest-agent",
    )
    assert response.status_code == 202
    drawing = Drawing.objects.get(pk=response.json()["id"])
    assert drawing.client_id == "abc-123" and drawing.strokes == strokes
    assert drawing.canvas_width == 400 and drawing.user_agent == "pytest-agent"


@pytest.mark.parametrize("strokes", ["nope", [[["x", 1]]], [[[1, 2, 3, 4]]], [[[0, 0]] * 6000]])
def test_malformed_strokes_are_rejected_with_400(client, strokes):
    response = client.post(
        "/api/drawings/",
        {"image": data_url(canvas_png(mnist().x_test[2])), "strokes": strokes},
        content_type="application/json",
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] == "invalid_strokes"


def test_model_list_describes_each_model_and_the_default(client):
    models = client.get("/api/models/").json()
    assert [m["name"] for m in models] == ["cnn", "dense", "numpy"]
    assert [m["name"] for m in models if m["default"]] == ["cnn"]
    for model in models:
        assert model["version"] >= 1 and model["parameters"] > 0
        assert 0 < model["mnist_accuracy"] <= 1
        assert model["title"] and model["framework"] in {"tensorflow", "numpy"} and model["description"]


def test_health_reports_database_broker_worker_and_loaded_models(client, celery_worker_process):
    submit(client)  # make sure the worker's child has run (and reported its models)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        response = client.get("/api/health/")
        if response.status_code == 200 and response.json()["loaded_models"]:
            break
        time.sleep(0.5)
    body = response.json()
    assert response.status_code == 200, body
    assert body["database"] and body["broker"] and body["workers"] and body["predict_workers"]
    assert any("cnn:" in name for models in body["loaded_models"].values() for name in models)


def test_openapi_schema_and_docs_are_served(client):
    schema = client.get("/api/schema/")
    assert schema.status_code == 200
    assert b"/api/drawings/{drawing_id}/" in schema.content
    docs = client.get("/api/docs/")
    assert docs.status_code == 200
    # No asset from a CDN (a random CSP nonce or CSRF token may spell "cdn", so look for URLs).
    assert not re.search(rb"(https?:)?//[^\"' ]*cdn", docs.content.lower())


def test_explain_at_submit_answers_with_a_saliency_map(client, celery_worker_process):
    response = client.post(
        "/api/drawings/",
        {"image": data_url(canvas_png(mnist().x_test[2])), "model": "numpy", "explain": True},
        content_type="application/json",
    )
    result = client.get(f"/api/drawings/{response.json()['id']}/?wait=10").json()
    assert result["status"] == "done" and result["explain"] is True
    assert result["saliency"].startswith("data:image/png;base64,")


def explained_result(client, drawing_id: str, seconds: float = 60.0) -> dict:
    """The drawing once its saliency map is there, long-polling as the page does (an explain job waits
    behind the answers queued before it, so one poll of ?wait=10 is not always enough on a loaded machine)."""
    deadline = time.monotonic() + seconds
    result = client.get(f"/api/drawings/{drawing_id}/?wait=10").json()
    while result["saliency"] is None and result["explain"] and time.monotonic() < deadline:
        result = client.get(f"/api/drawings/{drawing_id}/?wait=10").json()
    return result


def test_explain_after_the_answer_adds_a_saliency_map_to_the_same_drawing(client, celery_worker_process):
    created = submit(client, index=3)
    answered = client.get(f"/api/drawings/{created['id']}/?wait=10").json()
    assert answered["status"] == "done" and answered["saliency"] is None and answered["explain"] is False
    response = client.post(f"/api/drawings/{created['id']}/explain/", content_type="application/json")
    assert response.status_code == 202
    explained = explained_result(client, created["id"])
    assert explained["saliency"].startswith("data:image/png;base64,")
    assert {k: explained[k] for k in ("digit", "probabilities", "processed_image")} == {
        k: answered[k] for k in ("digit", "probabilities", "processed_image")
    }
    assert Drawing.objects.count() == 1
    again = client.post(f"/api/drawings/{created['id']}/explain/", content_type="application/json")
    assert again.status_code == 200 and again.json()["saliency"] == explained["saliency"]


def test_explaining_a_failed_drawing_is_409(client):
    drawing = Drawing.objects.create(image=canvas_png(mnist().x_test[0]), model_name="cnn", status="failed")
    response = client.post(f"/api/drawings/{drawing.id}/explain/", content_type="application/json")
    assert response.status_code == 409 and response.json()["error"]["code"] == "not_explainable"
