"""Drawings go through the API, a real Redis and a real Celery worker process, and come back read."""

from __future__ import annotations

import pytest

from inference.strokes import draw_strokes, to_png_bytes
from tests.browser.drawing_page import HASH
from tests.factories import data_url, mnist_test_digit

pytestmark = pytest.mark.django_db(transaction=True)


@pytest.mark.parametrize("model", ["cnn", "dense", "numpy"])
def test_mnist_digits_drawn_on_a_canvas_are_read_by_each_model(client, celery_worker_process, model):
    for index in range(5):
        png, label = mnist_test_digit(index)
        response = client.post(
            "/api/drawings/", {"image": data_url(png), "model": model}, content_type="application/json"
        )
        assert response.status_code == 202, response.content
        body = response.json()
        assert body["status"] == "queued" and body["model"] == model
        assert response["Location"] == body["url"]
        result = client.get(f"/api/drawings/{body['id']}/?wait=10").json()
        assert result["status"] == "done", result
        assert result["digit"] == label
        assert len(result["probabilities"]) == 10 and result["not_a_digit"] is False
        assert abs(sum(result["probabilities"]) + result["not_a_digit_probability"] - 1) < 1e-3
        assert result["processed_image"].startswith("data:image/png;base64,")
        assert result["model_version"] >= 1
        assert result["timings"]["total_ms"] >= result["timings"]["inference_ms"] > 0


@pytest.mark.parametrize("model", ["cnn", "dense", "numpy"])
def test_a_hash_sign_is_answered_not_a_digit_by_each_model(client, celery_worker_process, model):
    png = to_png_bytes(draw_strokes(HASH, size=(400, 400)))

    response = client.post("/api/drawings/?wait=10", {"image": data_url(png), "model": model}, "application/json")

    result = response.json()
    assert response.status_code == 200 and result["status"] == "done", result
    assert (result["not_a_digit"], result["digit"]) == (True, None)
    assert result["confidence"] == result["not_a_digit_probability"] > max(result["probabilities"])
    assert abs(sum(result["probabilities"]) + result["not_a_digit_probability"] - 1) < 1e-3
