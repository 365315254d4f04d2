"""The screenshots in docs/img/, taken from a running site in headless Chromium: `make screenshots`.

python -m docs.screenshots [--site URL] [--user NAME] [--drawings N] [--out DIR]

Start the site first (`make run`) and create a staff user; the password is read from
`INKWELL_ADMIN_PASSWORD`. The script sends N MNIST test digits through the API with the drawer's
feedback (so that the statistics page has something to show), then draws a digit on the page with the
mouse (desktop) and a finger (phone) and opens the admin's review, grid review and statistics pages. MNIST comes
from `MNIST_DIR`, else from the subset committed in tests/data/mnist.
"""

from __future__ import annotations

import argparse
import base64
import io
import json
import os
import urllib.request
from pathlib import Path

import numpy as np
from PIL import Image
from playwright.sync_api import Page, expect, sync_playwright

from training.data import load_mnist
from training.settings import mnist_dir

ROOT = Path(__file__).resolve().parent.parent
CHROMIUM = "/usr/bin/chromium"
RESULT_TIMEOUT_MS = 60_000
# A seven in the page's 400x400 canvas coordinates, drawn the way people draw it.
SEVEN = [[(115, 85), (285, 85), (185, 330)]]


def canvas_data_url(pixels: np.ndarray) -> str:
    """A 28x28 MNIST digit as the page's canvas exports it: dark ink on white, 400x400."""
    ink = Image.fromarray(np.round((1 - pixels) * 255).astype(np.uint8), mode="L").resize((400, 400))
    buffer = io.BytesIO()
    ink.convert("RGBA").save(buffer, "PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode()


def post_json(url: str, body: dict) -> dict:
    request = urllib.request.Request(url, json.dumps(body).encode(), {"Content-Type": "application/json"})
    with urllib.request.urlopen(request, timeout=30) as response:
        return json.loads(response.read())


def drawings_send(site: str, count: int) -> None:
    """Submit `count` MNIST test digits through the three models, each with its true digit as feedback."""
    mnist = load_mnist(mnist_dir() or ROOT / "tests" / "data" / "mnist")
    models = ["cnn", "dense", "numpy"]
    for index in range(count):
        answer = post_json(
            f"{site}/api/drawings/?wait=10",
            {"image": canvas_data_url(mnist.x_test[index]), "model": models[index % len(models)]},
        )
        post_json(
            f"{answer['url']}label/", {"label": int(mnist.y_test[index]), "feedback_token": answer["feedback_token"]}
        )


def draw(page: Page, strokes: list[list[tuple[float, float]]], *, touch: bool) -> None:
    canvas = page.get_by_test_id("canvas")
    box = canvas.bounding_box()
    assert box is not None

    def screen(x: float, y: float) -> tuple[float, float]:
        return box["x"] + x * box["width"] / 400, box["y"] + y * box["height"] / 400

    if touch:
        session = page.context.new_cdp_session(page)
        for stroke in strokes:
            points = [screen(*point) for point in stroke]
            dense = [
                (x0 + (x1 - x0) * i / 20, y0 + (y1 - y0) * i / 20)
                for (x0, y0), (x1, y1) in zip(points, points[1:], strict=False)
                for i in range(1, 21)
            ]
            for kind, (x, y) in [("touchStart", points[0]), *(("touchMove", point) for point in dense)]:
                touch_point = {"x": x, "y": y, "radiusX": 4, "radiusY": 4, "id": 1}
                session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": [touch_point]})
            session.send("Input.dispatchTouchEvent", {"type": "touchEnd", "touchPoints": []})
        return
    for stroke in strokes:
        page.mouse.move(*screen(*stroke[0]))
        page.mouse.down()
        for point in stroke[1:]:
            page.mouse.move(*screen(*point), steps=20)
        page.mouse.up()


def page_shot(page: Page, site: str, path: Path, *, touch: bool) -> None:
    page.goto(f"{site}/")
    expect(page.get_by_test_id("model")).to_be_enabled()
    draw(page, SEVEN, touch=touch)
    page.get_by_test_id("predict").click()
    # The page's Content-Security-Policy forbids evaluated scripts: wait on attributes, not functions.
    expect(page.get_by_test_id("status")).to_have_attribute("data-state", "done", timeout=RESULT_TIMEOUT_MS)
    page.screenshot(path=path, full_page=True, animations="disabled")


def admin_shots(page: Page, site: str, user: str, password: str, out: Path) -> None:
    page.goto(f"{site}/admin/login/")
    page.fill("#id_username", user)
    page.fill("#id_password", password)
    page.click("input[type=submit]")
    page.wait_for_url(f"{site}/admin/")
    page.goto(f"{site}/admin/drawings/drawing/review/")
    page.screenshot(path=out / "admin-review.png", full_page=False)
    page.goto(f"{site}/admin/drawings/drawing/review/grid/")
    page.screenshot(path=out / "admin-grid-review.png", full_page=True)
    page.goto(f"{site}/admin/drawings/drawing/statistics/")
    page.screenshot(path=out / "admin-statistics.png", full_page=True)


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--site", default="http://127.0.0.1:8000")
    parser.add_argument("--user", default="admin")
    parser.add_argument("--drawings", type=int, default=60, help="MNIST digits to send first (0: none)")
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "img")
    args = parser.parse_args(argv)
    password = os.environ.get("INKWELL_ADMIN_PASSWORD")
    if not password:
        parser.error("Set INKWELL_ADMIN_PASSWORD to the staff user's password.")
    args.out.mkdir(parents=True, exist_ok=True)
    drawings_send(args.site, args.drawings)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM)
        desktop = browser.new_page(viewport={"width": 1280, "height": 900})
        page_shot(desktop, args.site, args.out / "page-desktop.png", touch=False)
        phone = browser.new_context(viewport={"width": 390, "height": 844}, has_touch=True, is_mobile=True)
        page_shot(phone.new_page(), args.site, args.out / "page-phone.png", touch=True)
        admin_shots(browser.new_page(viewport={"width": 1280, "height": 900}), args.site, args.user, password, args.out)
        browser.close()
    print(f"Screenshots written to {args.out}")


if __name__ == "__main__":
    main()
