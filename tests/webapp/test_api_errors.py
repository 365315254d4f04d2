"""Bad input gets a clear error: HTTP status plus a stable machine-readable code."""

from __future__ import annotations

import base64
import io
import random
import struct
import zlib

import pytest
from PIL import Image

from tests.factories import blank_png, canvas_png, data_url, mnist

pytestmark = pytest.mark.django_db


def post_json(client, body, **extra):
    return client.post("/api/drawings/", body, content_type="application/json", **extra)


def error_of(response) -> dict:
    return response.json()["error"]


def png_header_claiming(width: int, height: int) -> bytes:
    """A tiny PNG whose header claims a huge size (a decompression bomb shape)."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 0, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"\0" * 64)) + chunk(b"IEND", b"")
    )


def image_bytes(image_format: str) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (50, 50), "white").save(buffer, format=image_format)
    return buffer.getvalue()


def test_bad_json_is_rejected_with_400(client):
    response = client.post("/api/drawings/", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_json"


def test_missing_image_is_rejected_with_400(client):
    response = post_json(client, {"model": "cnn"})
    assert response.status_code == 400
    assert error_of(response) == {"code": "image_required", "message": error_of(response)["message"], "field": "image"}


def test_invalid_base64_is_rejected_with_400(client):
    response = post_json(client, {"image": "data:image/png;base64,!!!not-base64!!!"})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_image"


def test_bytes_that_are_not_an_image_are_rejected_with_400(client):
    response = post_json(client, {"image": base64.b64encode(b"hello, this is text").decode()})
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_image"


@pytest.mark.parametrize("image_format", ["GIF", "BMP"])
def test_unsupported_format_is_rejected_with_400(client, image_format):
    response = post_json(client, {"image": base64.b64encode(image_bytes(image_format)).decode()})
    assert response.status_code == 400
    assert error_of(response)["code"] == "unsupported_format"


def test_blank_drawing_is_rejected_with_400(client):
    response = post_json(client, {"image": data_url(blank_png())})
    assert response.status_code == 400
    assert error_of(response)["code"] == "blank_drawing"


def test_unknown_model_is_rejected_with_400_listing_the_valid_ones(client):
    response = post_json(client, {"image": data_url(canvas_png(mnist().x_test[0])), "model": "resnet"})
    assert response.status_code == 400
    error = error_of(response)
    assert error["code"] == "unknown_model" and error["field"] == "model"
    for name in ("cnn", "dense", "numpy"):
        assert name in error["message"]


def test_image_over_two_megabytes_is_rejected_with_413(client):
    response = post_json(client, {"image": base64.b64encode(b"\x89PNG" + b"0" * (2 * 1024 * 1024 + 10)).decode()})
    assert response.status_code == 413
    assert error_of(response)["code"] == "image_too_large"


def test_image_over_4096_pixels_a_side_is_refused_before_decoding_with_413(client):
    response = post_json(client, {"image": base64.b64encode(png_header_claiming(100_000, 100_000)).decode()})
    assert response.status_code == 413
    assert error_of(response)["code"] == "image_too_large"


@pytest.mark.parametrize("width, height", [(2049, 50), (50, 2049), (4096, 4096)])
def test_a_small_file_that_decodes_to_over_2048_pixels_a_side_is_refused_with_413(client, width, height):
    buffer = io.BytesIO()
    Image.new("L", (width, height), 255).save(buffer, format="PNG", optimize=True)
    assert len(buffer.getvalue()) < 50_000  # a pixel bomb: tiny file, huge image
    response = post_json(client, {"image": base64.b64encode(buffer.getvalue()).decode()})
    assert response.status_code == 413
    assert error_of(response)["code"] == "image_too_large"


def test_multipart_upload_is_accepted(client, celery_worker_process):
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("digit.png", canvas_png(mnist().x_test[0]), content_type="image/png")
    response = client.post("/api/drawings/", {"image": upload, "model": "dense"})
    assert response.status_code == 202, response.content
    assert response.json()["model"] == "dense"


def test_unknown_drawing_is_404(client):
    response = client.get("/api/drawings/00000000-0000-0000-0000-000000000000/")
    assert response.status_code == 404
    assert error_of(response)["code"] == "not_found"
    assert client.get("/api/drawings/not-a-uuid/").json()["error"]["code"] == "not_found"


@pytest.mark.parametrize("label", [10, -1, "seven", None])
def test_bad_label_is_rejected_with_400(client, label):
    created = post_json(client, {"image": data_url(canvas_png(mnist().x_test[0]))}).json()
    body = {"label": label, "feedback_token": created["feedback_token"]}
    response = client.post(f"/api/drawings/{created['id']}/label/", body, content_type="application/json")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_label"
    assert error_of(response)["field"] == "label"


def test_wait_over_ten_seconds_is_rejected_with_400(client):
    created = post_json(client, {"image": data_url(canvas_png(mnist().x_test[0]))}).json()
    response = client.get(f"/api/drawings/{created['id']}/?wait=60")
    assert response.status_code == 400
    assert error_of(response)["code"] == "invalid_wait"
    assert error_of(response)["field"] == "wait"


def test_submissions_over_the_rate_are_throttled_with_429(client, settings, redis_server):
    from webapp.core.throttles import SubmitThrottle

    SubmitThrottle.THROTTLE_RATES = {**SubmitThrottle.THROTTLE_RATES, "submit": "2/hour"}
    try:
        body = {"image": data_url(canvas_png(mnist().x_test[0]))}
        # Addresses of this run only: the counters of an earlier run on the same broker must not count.
        address, other_address = (f"10.{random.randrange(256)}.{random.randrange(256)}.{n}" for n in (9, 8))
        codes = [post_json(client, body, REMOTE_ADDR=address).status_code for _ in range(3)]
        other = post_json(client, body, REMOTE_ADDR=other_address).status_code
    finally:
        SubmitThrottle.THROTTLE_RATES = settings.REST_FRAMEWORK["DEFAULT_THROTTLE_RATES"]
    assert codes == [202, 202, 429]
    assert other == 202


def test_submit_answers_503_only_when_the_database_cannot_store_the_drawing(client, monkeypatch):
    from django.db import OperationalError

    from webapp.drawings.models import Drawing

    def database_down(*args, **kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(Drawing.objects, "create", database_down)
    response = post_json(client, {"image": data_url(canvas_png(mnist().x_test[0]))})
    assert response.status_code == 503
    assert error_of(response)["code"] == "storage_unavailable"
