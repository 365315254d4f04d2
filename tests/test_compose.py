"""docker-compose.yml and the Dockerfile, run as Docker would run them but on this machine (there is no
Docker daemon here): the Dockerfile's collectstatic with the image's environment, then every service's
command and healthcheck with the image's and the compose file's environment. The machine's PostgreSQL (a
fresh database) and the test run's Redis stand in for the `postgres` and `redis` services."""

from __future__ import annotations

import json
import os
import re
import shlex
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import urlparse

import pytest
import yaml

from inference import registry
from tests.conftest import free_port
from tests.factories import canvas_png, data_url, mnist

ROOT = Path(__file__).resolve().parent.parent
COMPOSE = yaml.safe_load((ROOT / "docker-compose.yml").read_text())
SERVICES: dict[str, dict[str, Any]] = COMPOSE["services"]
# The services built from this repository's image (the others run stock postgres and redis images).
APP_SERVICES = sorted(name for name, service in SERVICES.items() if "build" in service)
POSTGRES = "postgresql://postgres@127.0.0.1:5432"
# Where the test puts what a container keeps at these paths.
WORKER_CACHE = "/var/cache/inkwell"
MNIST_MOUNT = "/data/mnist"


@dataclass
class Dockerfile:
    """What the test needs of the Dockerfile: its environment, its RUN commands (each with the
    environment set before it), its default command and its user."""

    env: dict[str, str]
    runs: list[tuple[str, dict[str, str]]]
    cmd: list[str]
    user: str


def read_dockerfile() -> Dockerfile:
    text = (ROOT / "Dockerfile").read_text().replace("\\\n", " ")
    env: dict[str, str] = {}
    runs: list[tuple[str, dict[str, str]]] = []
    cmd: list[str] = []
    user = "root"
    for line in text.splitlines():
        instruction, _, rest = line.strip().partition(" ")
        if instruction == "ENV":
            env.update(item.split("=", 1) for item in shlex.split(rest))
        elif instruction == "RUN":
            runs.append((rest, dict(env)))
        elif instruction == "CMD":
            cmd = json.loads(rest)
        elif instruction == "USER":
            user = rest.strip()
    return Dockerfile(env, runs, cmd, user)


def interpolate(value: str) -> str:
    """Compose's variable substitution for an operator who set nothing: `${X:-default}` is the default,
    `$$` a literal `$`."""
    value = re.sub(r"\$\{\w+:-([^}]*)\}", r"\1", value)
    value = re.sub(r"\$\{\w+\}", "", value)
    return value.replace("$$", "$")


def test_every_service_of_ours_restarts_and_has_a_healthcheck():
    for name in APP_SERVICES + ["postgres", "redis"]:
        service = SERVICES[name]
        if name == "migrate":  # a one-shot job that the others wait for (service_completed_successfully)
            assert service["restart"] == "no"
            continue
        assert service["restart"] == "unless-stopped", name
        assert service["healthcheck"]["test"][0] in ("CMD", "CMD-SHELL"), name


def test_no_models_volume_is_shared_and_workers_keep_their_own_cache():
    assert "models" not in COMPOSE.get("volumes", {})
    for name in APP_SERVICES:
        mounts = [interpolate(volume) for volume in SERVICES[name].get("volumes", [])]
        assert not any("models" in mount for mount in mounts), (name, mounts)
    for name in ("worker", "trainer"):
        assert SERVICES[name]["environment"]["MODEL_DIR"].startswith(WORKER_CACHE)


def test_the_trainer_reads_mnist_from_a_read_only_mount():
    trainer = SERVICES["trainer"]
    assert trainer["environment"]["MNIST_DIR"] == MNIST_MOUNT
    assert any(interpolate(volume).endswith(f":{MNIST_MOUNT}:ro") for volume in trainer["volumes"])
    assert "MNIST_HOST_DIR" in (ROOT / "docker-compose.yml").read_text()
    assert "MNIST_HOST_DIR" in (ROOT / "docs" / "configuration.md").read_text()
    assert "MNIST_HOST_DIR" in (ROOT / "docs" / "operations.md").read_text()


def test_the_image_installs_only_what_runs_and_runs_as_a_user():
    dockerfile = read_dockerfile()
    installs = [command for command, _ in dockerfile.runs if "pip install" in command]
    assert installs == ["pip install -r requirements.txt"]
    runtime = (ROOT / "requirements.txt").read_text().lower()
    for tool in ("pytest", "playwright", "ruff", "mypy", "stubs"):
        assert tool not in runtime
    assert "-r requirements.txt" in (ROOT / "requirements-dev.txt").read_text()
    assert dockerfile.user not in ("root", "0", "")
    assert "requirements-dev.txt" in (ROOT / "Makefile").read_text()


@dataclass
class Stack:
    """Where the stand-ins live: the database, the broker, and a scratch directory per service."""

    database_url: str
    redis_url: str
    tmp: Path
    port: int
    static_root: Path

    def container_path(self, value: str, service: str) -> str:
        """Paths inside a container, as paths on this machine (the rest of `value` unchanged)."""
        places = {
            WORKER_CACHE: str(self.tmp / service / "cache"),
            MNIST_MOUNT: os.environ["MNIST_DIR"],
            "/tmp": str(self.tmp / service / "tmp"),
        }
        pattern = r"(?<![\w/.-])(" + "|".join(map(re.escape, places)) + r")(?![\w.-])"
        return re.sub(pattern, lambda match: places[match.group(1)], value)

    def env(self, service: str) -> dict[str, str]:
        """The environment a container of `service` would have: the image's, then the compose file's."""
        compose_env = {key: interpolate(str(value)) for key, value in SERVICES[service]["environment"].items()}
        env = {**read_dockerfile().env, **compose_env}
        assert urlparse(env["DATABASE_URL"]).hostname == "postgres"
        assert urlparse(env["REDIS_URL"]).hostname == "redis"
        env = {key: self.container_path(value, service) for key, value in env.items()}
        (self.tmp / service / "tmp").mkdir(parents=True, exist_ok=True)
        return {
            **env,
            "DATABASE_URL": self.database_url,
            "REDIS_URL": self.redis_url,
            "PORT": str(self.port),
            "STATIC_ROOT": str(self.static_root),
            "PATH": f"{Path(sys.executable).parent}:/usr/local/bin:/usr/bin:/bin",
            "HOME": str(self.tmp / service),
            "HOSTNAME": socket.gethostname(),  # as Docker sets it: the container's host name
        }

    def command(self, service: str) -> list[str]:
        command = SERVICES[service].get("command") or read_dockerfile().cmd
        return [self.container_path(interpolate(part), service) for part in command]

    def healthcheck(self, service: str) -> list[str]:
        kind, *test = SERVICES[service]["healthcheck"]["test"]
        test = [self.container_path(interpolate(part), service) for part in test]
        return ["sh", "-c", test[0]] if kind == "CMD-SHELL" else test


@pytest.fixture
def database() -> Iterator[str]:
    """A fresh PostgreSQL database on this machine, standing in for the `postgres` service."""
    import psycopg

    name = f"inkwell_compose_{os.getpid()}"
    try:
        admin = psycopg.connect(f"{POSTGRES}/postgres", autocommit=True, connect_timeout=5)
    except psycopg.OperationalError as exc:
        pytest.fail(
            f"PostgreSQL is not reachable at 127.0.0.1:5432 (user postgres, trust auth); the compose test "
            f"runs the services against it. {exc}"
        )
    with admin:
        admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.execute(f'CREATE DATABASE "{name}"')
        try:
            yield f"postgres://postgres@127.0.0.1:5432/{name}"
        finally:
            admin.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def broker(redis_server: str) -> Iterator[str]:
    """The test run's Redis, standing in for the `redis` service. A worker of the suite itself that is
    already running on it is kept off the stack's queues meanwhile, so it cannot take the stack's jobs."""
    from webapp.celery import app

    queues = {service_queue(name) for name in ("worker", "trainer")}
    consuming = app.control.inspect(timeout=1.0).active_queues() or {}
    paused = [(node, queue["name"]) for node, found in consuming.items() for queue in found if queue["name"] in queues]
    for node, queue in paused:
        app.control.cancel_consumer(queue, destination=[node], reply=True)
    try:
        yield redis_server
    finally:
        for node, queue in paused:
            app.control.add_consumer(queue, destination=[node], reply=True)


def service_queue(service: str) -> str:
    (option,) = [part for part in SERVICES[service]["command"] if part.startswith("--queues=")]
    return option.removeprefix("--queues=")


class Services:
    """The long-running services as processes of this machine, each in its own process group."""

    def __init__(self, stack: Stack) -> None:
        self.stack = stack
        self.processes: dict[str, subprocess.Popen[bytes]] = {}

    def start(self, service: str) -> None:
        log = open(self.stack.tmp / f"{service}.log", "wb")
        self.processes[service] = subprocess.Popen(
            self.stack.command(service),
            cwd=ROOT,
            env=self.stack.env(service),
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def log(self, service: str) -> str:
        return (self.stack.tmp / f"{service}.log").read_text(errors="replace")[-4000:]

    def healthy(self, service: str, within: float) -> subprocess.CompletedProcess[str]:
        """Run the service's healthcheck until it passes or `within` seconds have gone."""
        deadline = time.monotonic() + within
        while True:
            process = self.processes[service]
            assert process.poll() is None, f"{service} exited ({process.returncode}):\n{self.log(service)}"
            result = subprocess.run(
                self.stack.healthcheck(service),
                cwd=ROOT,
                env=self.stack.env(service),
                capture_output=True,
                text=True,
                timeout=60,
            )
            if result.returncode == 0 or time.monotonic() > deadline:
                return result
            time.sleep(1)

    def stop(self) -> None:
        for process in self.processes.values():
            if process.poll() is None:
                os.killpg(process.pid, signal.SIGTERM)
        for process in self.processes.values():
            try:
                process.wait(30)
            except subprocess.TimeoutExpired:
                os.killpg(process.pid, signal.SIGKILL)
                process.wait(10)


def get(url: str) -> tuple[int, bytes]:
    try:
        with urllib.request.urlopen(url, timeout=30) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as error:
        return error.code, error.read()


def test_the_compose_services_serve_the_page_and_read_a_drawing_when_run_on_this_machine(database, broker, tmp_path):
    stack = Stack(database, broker, tmp_path, free_port(), tmp_path / "staticfiles")
    dockerfile = read_dockerfile()
    ((collectstatic, image_env),) = [(command, env) for command, env in dockerfile.runs if "collectstatic" in command]
    built = subprocess.run(
        ["sh", "-c", collectstatic],
        cwd=ROOT,
        env={**image_env, "STATIC_ROOT": str(stack.static_root), "PATH": stack.env("web")["PATH"]},
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert built.returncode == 0, built.stderr
    assert (stack.static_root / "staticfiles.json").is_file()

    migrate = subprocess.run(
        stack.command("migrate"), cwd=ROOT, env=stack.env("migrate"), capture_output=True, text=True, timeout=300
    )
    assert migrate.returncode == 0, migrate.stdout + migrate.stderr
    committed = len(list((ROOT / "models").glob("*/*/card.json")))
    assert f"{committed} model versions stored in the database" in migrate.stdout

    long_running = [name for name in APP_SERVICES if name != "migrate"]
    assert sorted(long_running) == ["beat", "trainer", "web", "worker"]
    services = Services(stack)
    try:
        for name in long_running:
            services.start(name)
        for name in long_running:
            result = services.healthy(name, within=120)
            assert result.returncode == 0, f"{name} healthcheck: {result.stdout}{result.stderr}\n{services.log(name)}"

        site = f"http://127.0.0.1:{stack.port}"
        status, page = get(f"{site}/")
        assert status == 200, page[-2000:]
        favicon = re.search(rb'href="(/static/page/favicon\.[0-9a-f]{12}\.svg)"', page)
        assert favicon is not None, "the page names the hashed favicon from the manifest"
        status, svg = get(site + favicon.group(1).decode())
        assert status == 200 and b"<svg" in svg

        body = json.dumps({"image": data_url(canvas_png(mnist().x_test[0])), "model": "cnn"}).encode()
        request = urllib.request.Request(
            f"{site}/api/drawings/", data=body, method="POST", headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(request, timeout=30) as response:
            assert response.status == 202
            drawing = json.loads(response.read())
        deadline = time.monotonic() + 120
        while drawing["status"] not in ("done", "failed") and time.monotonic() < deadline:
            drawing = json.loads(get(f"{site}/api/drawings/{drawing['id']}/?wait=10")[1])
        served = registry.latest_version("cnn")
        assert (drawing["status"], drawing["digit"], drawing["model_version"]) == ("done", 7, served), drawing

        # The worker started with an empty cache and fetched every model it serves from the database.
        cache = tmp_path / "worker" / "cache" / "models"
        fetched = [
            name
            for name in registry.MODEL_NAMES
            if (cache / name / str(registry.latest_version(name)) / "card.json").is_file()
        ]
        assert fetched == ["cnn", "dense", "numpy"]
        health = json.loads(get(f"{site}/api/health/")[1])
        host = socket.gethostname()
        assert {f"worker@{host}", f"trainer@{host}"} <= set(health["workers"]), health
        assert health["status"] == "ok" and health["database"] and health["broker"]
    finally:
        services.stop()
