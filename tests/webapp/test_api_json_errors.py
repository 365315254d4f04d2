"""Every answer under /api/ is JSON in the error shape, whatever a hostile client sends."""

from __future__ import annotations

import base64
import logging

import pytest

from tests.factories import canvas_png, data_url, mnist

pytestmark = pytest.mark.django_db


def assert_error(response, status: int, code: str) -> dict:
    assert response.status_code == status, response.content[:300]
    assert response["Content-Type"].startswith("application/json"), response["Content-Type"]
    error = response.json()["error"]
    assert set(error) >= {"code", "message", "field"} and error["code"] == code, error
    return error


def submit(client) -> dict:
    body = {"image": data_url(canvas_png(mnist().x_test[0]))}
    response = client.post("/api/drawings/", body, content_type="application/json")
    assert response.status_code == 202
    return response.json()


@pytest.mark.parametrize("path", ["/api/nothing-here/", "/api/drawings/x/y/z/", "/api/"])
def test_unknown_api_path_is_404_json(client, path):
    assert_error(client.get(path), 404, "not_found")


def test_unknown_api_path_is_json_even_when_the_client_asks_for_html(client):
    assert_error(client.get("/api/nope/", HTTP_ACCEPT="text/html"), 404, "not_found")


def test_unknown_path_outside_the_api_is_still_an_html_page(client):
    response = client.get("/no-such-page/")
    assert response.status_code == 404 and not response["Content-Type"].startswith("application/json")


def test_wrong_method_is_405_json(client):
    assert_error(client.delete("/api/models/"), 405, "method_not_allowed")


def test_1001_query_parameters_are_400_json(client):
    query = "&".join(f"p{i}=1" for i in range(1001))
    assert_error(client.get(f"/api/models/?{query}"), 400, "too_many_fields")
    assert_error(client.get(f"/api/nothing/?{query}"), 404, "not_found")


def test_1001_query_parameters_on_a_drawing_are_400_json(client):
    query = "&".join(f"p{i}=1" for i in range(1001))
    drawing_id = "00000000-0000-0000-0000-000000000000"
    assert_error(client.get(f"/api/drawings/{drawing_id}/?{query}"), 400, "too_many_fields")


def test_1001_form_fields_are_400_json(client):
    body = "&".join(f"f{i}=1" for i in range(1001))
    response = client.post("/api/drawings/", body, content_type="application/x-www-form-urlencoded")
    assert_error(response, 400, "too_many_fields")


def test_1001_multipart_fields_are_400_json(client):
    response = client.post("/api/drawings/", {f"f{i}": "1" for i in range(1001)})
    assert_error(response, 400, "too_many_fields")


def test_data_url_without_a_comma_is_400_not_500(client):
    response = client.post("/api/drawings/", {"image": "data:image/png;base64"}, content_type="application/json")
    assert assert_error(response, 400, "invalid_image")["field"] == "image"


def test_data_url_of_text_is_refused_with_400(client):
    text = "data:text/plain;base64," + base64.b64encode(b"hello").decode()
    response = client.post("/api/drawings/", {"image": text}, content_type="application/json")
    assert assert_error(response, 400, "unsupported_format")["field"] == "image"
    png_as_text = "data:text/plain;base64," + base64.b64encode(canvas_png(mnist().x_test[0])).decode()
    response = client.post("/api/drawings/", {"image": png_as_text}, content_type="application/json")
    assert_error(response, 400, "unsupported_format")


def test_data_url_that_is_not_base64_is_refused_with_400(client):
    response = client.post("/api/drawings/", {"image": "data:image/png,%89PNG"}, content_type="application/json")
    assert_error(response, 400, "invalid_image")


def test_json_nested_a_thousand_deep_is_400_not_500(client):
    for body in ("[" * 1000 + "]" * 1000, '{"image": ' + "[" * 1000 + "]" * 1000 + "}"):
        response = client.post("/api/drawings/", body, content_type="application/json")
        assert_error(response, 400, "invalid_json")


def test_json_nested_just_under_the_recursion_limit_is_400_not_500(client):
    strokes = "[" * 900 + "]" * 900
    body = '{"image": "x", "strokes": ' + strokes + "}"
    assert_error(client.post("/api/drawings/", body, content_type="application/json"), 400, "invalid_json")


def test_strokes_nested_deep_in_a_form_field_are_400(client):
    png = canvas_png(mnist().x_test[0])
    from django.core.files.uploadedfile import SimpleUploadedFile

    upload = SimpleUploadedFile("digit.png", png, content_type="image/png")
    response = client.post("/api/drawings/", {"image": upload, "strokes": "[" * 5000 + "]" * 5000})
    assert_error(response, 400, "invalid_strokes")


def test_strokes_with_infinite_numbers_are_400(client):
    image = data_url(canvas_png(mnist().x_test[0]))
    body = '{"image": "' + image + '", "strokes": [[[1e400, 2, 3]]]}'
    assert_error(client.post("/api/drawings/", body, content_type="application/json"), 400, "invalid_strokes")


@pytest.mark.parametrize("wait", ["nan", "NaN", "inf", "-inf", "1e999"])
def test_wait_that_is_not_a_finite_number_is_400(client, wait):
    created = submit(client)
    error = assert_error(client.get(f"/api/drawings/{created['id']}/?wait={wait}"), 400, "invalid_wait")
    assert error["field"] == "wait"


def test_unexpected_exception_is_500_internal_error_with_a_request_id_in_the_answer_and_the_log(
    client, monkeypatch, caplog
):
    from webapp.drawings import apis

    def broken(**kwargs):
        raise RuntimeError("the disk caught fire")

    monkeypatch.setattr(apis, "drawing_result_when_finished", broken)
    with caplog.at_level(logging.ERROR):
        response = client.get("/api/drawings/00000000-0000-0000-0000-000000000000/")
    error = assert_error(response, 500, "internal_error")
    request_id = response["X-Request-ID"]
    assert len(request_id) == 32
    assert error["request_id"] == request_id and request_id in error["message"]
    assert "disk caught fire" not in response.content.decode()  # no internals in the answer
    logged = [r for r in caplog.records if request_id in r.getMessage()]
    assert logged and logged[0].exc_info and "the disk caught fire" in str(logged[0].exc_info[1])


def test_every_answer_carries_a_fresh_request_id(client):
    first, second = client.get("/api/models/"), client.get("/")
    assert first["X-Request-ID"] != second["X-Request-ID"]
    assert client.get("/api/models/", HTTP_X_REQUEST_ID="forged")["X-Request-ID"] != "forged"


def test_log_lines_of_a_request_carry_its_request_id():
    from webapp.core.request_ids import RequestIdFilter, request_id_reset, request_id_set

    record = logging.LogRecord("x", logging.INFO, __file__, 1, "hello", None, None)
    token = request_id_set("abc123")
    try:
        RequestIdFilter().filter(record)
    finally:
        request_id_reset(token)
    assert record.request_id == "abc123"  # type: ignore[attr-defined]
    RequestIdFilter().filter(record)
    assert record.request_id == "-"  # type: ignore[attr-defined]


def test_a_form_field_over_the_memory_limit_is_413_json(client, settings):
    settings.DATA_UPLOAD_MAX_MEMORY_SIZE = 1024
    drawing_id = "00000000-0000-0000-0000-000000000000"
    response = client.post(f"/api/drawings/{drawing_id}/label/", {"label": "1", "note": "x" * 4096})
    assert_error(response, 413, "request_too_large")


def test_a_host_header_not_allowed_is_400_json_under_the_api(client):
    assert_error(client.get("/api/models/", HTTP_HOST="evil.example"), 400, "bad_request")
