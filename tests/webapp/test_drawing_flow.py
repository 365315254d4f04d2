"""Drawings go through the API, a real Redis and a real Celery worker process, and come back read."""

from __future__ import annotations

import numpy as np
import pytest

from inference import registry
from inference.answer import not_a_digit_margins
from inference.review_order import label_values, member_agreements
from inference.strokes import draw_strokes, to_png_bytes
from tests.browser.drawing_page import HASH
from tests.factories import data_url, mnist_test_digit
from webapp.core.serving import active_version, version_model
from webapp.drawings.models import Drawing

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


@pytest.mark.parametrize("model", ["cnn", "numpy"])
def test_not_a_digit_is_the_served_models_mean_margin_and_the_row_records_their_versions(
    client, celery_worker_process, model
):
    shapes = [mnist_test_digit(0)[0], mnist_test_digit(3)[0], to_png_bytes(draw_strokes(HASH, size=(400, 400)))]
    for png in shapes:
        result = client.post("/api/drawings/?wait=10", {"image": data_url(png), "model": model}, "application/json")
        body = result.json()
        assert body["status"] == "done", body

        versions = {name: active_version(name) for name in registry.MODEL_NAMES}
        assert body["not_a_digit_voters"] == versions
        pixels = np.frombuffer(bytes(Drawing.objects.get(pk=body["id"]).model_input), np.float32).reshape(1, 28, 28)
        margins = [not_a_digit_margins(version_model(n, v).predict(pixels))[0] for n, v in versions.items()]
        rejection = body["not_a_digit_probability"]
        if rejection >= 1e-4:  # the answer's own margin is the committee's (to the 6 decimals stored)
            answered = np.log(rejection) - np.log(max(body["probabilities"]))
            assert answered == pytest.approx(np.mean(margins), abs=1e-2)
        assert body["not_a_digit"] is bool(np.mean(margins) > 0)
        if not body["not_a_digit"]:
            chosen = version_model(model, versions[model]).predict(pixels)[0]
            assert body["digit"] == int(np.argmax(chosen[:10]))
        # The review order's label value is read from the same members' rows, the chosen model's first.
        members = [version_model(model, versions[model]).predict(pixels)]
        members += [version_model(n, v).predict(pixels) for n, v in versions.items() if n != model]
        stored = Drawing.objects.get(pk=body["id"])
        assert stored.label_value == pytest.approx(float(label_values(members)[0]), abs=1e-5)
        assert stored.committee_agreement == pytest.approx(float(member_agreements(members)[0]))
