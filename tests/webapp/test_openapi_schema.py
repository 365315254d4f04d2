"""The OpenAPI schema documents every operation's fields and error answers, and a live server (uvicorn,
a real worker) answers schemathesis's generated requests without a 5xx and as the schema says."""

from __future__ import annotations

import time
from collections.abc import Iterator

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.conftest import free_port, start_web_server
from tests.factories import canvas_png, data_url, mnist

pytestmark = pytest.mark.django_db(transaction=True)  # the server's rows are flushed after each test

CHECKS = [not_a_server_error, status_code_conformance, content_type_conformance, response_schema_conformance]


@pytest.fixture(scope="module")
def live_api(worker_env, celery_worker_process, tmp_path_factory) -> Iterator[str]:
    """The site under uvicorn, as production runs it, on the test database and broker."""
    port = free_port()
    server = start_web_server(worker_env, port, tmp_path_factory.mktemp("web") / "web.log")
    yield f"http://127.0.0.1:{port}"
    server.terminate()
    server.wait(20)


@pytest.fixture(scope="module")
def api_schema(live_api: str):
    return schemathesis.openapi.from_url(f"{live_api}/api/schema/?format=json")


def test_schema_names_every_input_and_output_apart_and_documents_the_image(client):
    schema = client.get("/api/schema/?format=json").json()
    components = schema["components"]["schemas"]
    assert "Input" not in components and "Output" not in components
    assert {"DrawingCreateJsonInput", "DrawingCreateOutput", "DrawingLabelInput", "ModelListOutput"} <= set(components)
    create = schema["paths"]["/api/drawings/"]["post"]["requestBody"]["content"]
    assert create["application/json"]["schema"]["$ref"].endswith("/DrawingCreateJsonInput")
    assert components["DrawingCreateJsonInput"]["properties"]["image"]["type"] == "string"
    assert "image" in components["DrawingCreateJsonInput"]["required"]
    multipart = components["DrawingCreateMultipartInput"]["properties"]["image"]
    assert (multipart["type"], multipart["format"]) == ("string", "binary")
    label = schema["paths"]["/api/drawings/{drawing_id}/label/"]["post"]
    assert label["requestBody"]["content"]["application/json"]["schema"]["$ref"].endswith("/DrawingLabelInput")
    assert set(components["DrawingLabelInput"]["properties"]) == {"label", "number", "feedback_token"}
    models = schema["paths"]["/api/models/"]["get"]["responses"]["200"]["content"]["application/json"]["schema"]
    assert models["items"]["$ref"].endswith("/ModelListOutput")
    assert "feedback_token" in components["DrawingCreateOutput"]["required"]
    assert "user_label" in components["DrawingOutput"]["properties"]


def test_every_operation_documents_its_error_answers_in_the_error_shape(client):
    schema = client.get("/api/schema/?format=json").json()
    expected = {
        ("/api/drawings/", "post"): {"400", "403", "413", "415", "429", "500", "503"},
        ("/api/drawings/{drawing_id}/", "get"): {"400", "404", "429", "500"},
        ("/api/drawings/{drawing_id}/label/", "post"): {"400", "403", "404", "413", "415", "429", "500"},
        ("/api/drawings/{drawing_id}/explain/", "post"): {"400", "404", "409", "429", "500"},
        ("/api/models/", "get"): {"400", "429", "500"},
        ("/api/health/", "get"): {"400", "429", "500"},
        ("/api/health/live/", "get"): {"400", "500"},
    }
    documented = {(path, method) for path, item in schema["paths"].items() for method in item}
    assert documented == set(expected)
    for (path, method), statuses in expected.items():
        responses = schema["paths"][path][method]["responses"]
        assert statuses <= set(responses), (path, method)
        for status in statuses:
            assert responses[status]["content"]["application/json"]["schema"]["$ref"].endswith("/Error"), status
    health_down = schema["paths"]["/api/health/"]["get"]["responses"]["503"]
    assert health_down["content"]["application/json"]["schema"]["$ref"].endswith("/HealthOutput")
    error = schema["components"]["schemas"]["ErrorDetail"]
    assert set(error["required"]) == {"code", "message", "field"}


schema = schemathesis.pytest.from_fixture("api_schema")


@schema.parametrize()
@settings(max_examples=25, deadline=None, suppress_health_check=list(HealthCheck))
def test_generated_requests_get_no_5xx_and_answers_that_conform_to_the_schema(case):
    case.call_and_validate(checks=CHECKS, timeout=15)


def test_real_answers_of_every_operation_conform_to_the_schema(api_schema, live_api):
    """The fuzzer rarely hits a real drawing: a drawing's life, step by step, checked against the schema."""
    session = requests.Session()

    def checked(method: str, path: str, template: str, **kwargs) -> requests.Response:
        response = session.request(method, f"{live_api}{path}", timeout=15, **kwargs)
        api_schema[template][method.upper()].validate_response(response)
        return response

    body = {"image": data_url(canvas_png(mnist().x_test[0])), "model": "cnn"}
    created = checked("post", "/api/drawings/", "/api/drawings/", json=body)
    assert created.status_code == 202
    drawing = created.json()
    detail = f"/api/drawings/{drawing['id']}/"
    deadline = time.monotonic() + 30
    while (answer := checked("get", f"{detail}?wait=5", "/api/drawings/{drawing_id}/")).json()["status"] != "done":
        assert time.monotonic() < deadline
    label = "/api/drawings/{drawing_id}/label/"
    assert checked("post", f"{detail}label/", label, json={"label": 7}).status_code == 403
    sent = checked("post", f"{detail}label/", label, json={"label": 7, "feedback_token": drawing["feedback_token"]})
    assert sent.json()["user_label"] == 7 and answer.json()["digit"] is not None
    unknown = "/api/drawings/00000000-0000-0000-0000-000000000000/"
    assert checked("get", unknown, "/api/drawings/{drawing_id}/").status_code == 404
    assert checked("get", "/api/models/", "/api/models/").status_code == 200
    assert checked("get", "/api/health/", "/api/health/").status_code in (200, 503)
