"""The drawing page as tests use it: draw strokes with a mouse or a finger, predict, read the answer."""

from __future__ import annotations

import itertools
import re
from collections.abc import Sequence

from playwright.sync_api import Page, expect

CANVAS = 400
NUMBER_CANVAS_WIDTH = 1200
RESULT_TIMEOUT_MS = 90_000

Stroke = Sequence[tuple[float, float]]

# Clear digits in 400x400 canvas coordinates, drawn the way people draw them.
ONE: list[Stroke] = [[(200, 70), (200, 330)]]
SEVEN: list[Stroke] = [[(115, 85), (285, 85), (185, 330)]]
# A "4" in two strokes, for undo.
FOUR: list[Stroke] = [[(170, 70), (120, 230), (280, 230)], [(240, 120), (240, 340)]]
# Not a digit: a hash sign, two slanted uprights and two bars.
HASH: list[Stroke] = [
    [(170, 70), (145, 330)],
    [(265, 70), (240, 330)],
    [(90, 155), (320, 155)],
    [(80, 245), (310, 245)],
]


class DrawingPage:
    def __init__(self, page: Page) -> None:
        self.page = page
        self.canvas = page.get_by_test_id("canvas")
        self.status = page.get_by_test_id("status")
        self.width = CANVAS  # logical canvas width: NUMBER_CANVAS_WIDTH in number mode

    def number_mode(self) -> DrawingPage:
        """Switch to the wider canvas of a whole number."""
        self.page.get_by_test_id("number-mode").check()
        self.width = NUMBER_CANVAS_WIDTH
        return self

    def open(self) -> DrawingPage:
        self.page.goto("/")
        expect(self.page.get_by_test_id("model")).to_be_enabled()
        return self

    def to_screen(self, x: float, y: float) -> tuple[float, float]:
        box = self.canvas.bounding_box()
        assert box is not None
        return box["x"] + x * box["width"] / self.width, box["y"] + y * box["height"] / CANVAS

    def draw_with_mouse(self, strokes: Sequence[Stroke]) -> None:
        mouse = self.page.mouse
        for stroke in strokes:
            mouse.move(*self.to_screen(*stroke[0]))
            mouse.down()
            for point in stroke[1:]:
                mouse.move(*self.to_screen(*point), steps=20)
            mouse.up()

    def draw_with_finger(self, strokes: Sequence[Stroke], steps: int = 20) -> None:
        """Real touch input through the DevTools protocol; Chromium turns it into pointer events."""
        session = self.page.context.new_cdp_session(self.page)

        def touch(kind: str, x: float, y: float) -> None:
            points = [] if kind == "touchEnd" else [{"x": x, "y": y, "radiusX": 4, "radiusY": 4, "id": 1}]
            session.send("Input.dispatchTouchEvent", {"type": kind, "touchPoints": points})

        for stroke in strokes:
            x, y = self.to_screen(*stroke[0])
            touch("touchStart", x, y)
            for (x0, y0), (x1, y1) in itertools.pairwise(stroke):
                for i in range(1, steps + 1):
                    touch("touchMove", *self.to_screen(x0 + (x1 - x0) * i / steps, y0 + (y1 - y0) * i / steps))
            touch("touchEnd", 0, 0)
            expect(self.canvas).not_to_have_attribute("data-drawing", re.compile(".*"))
            # A finger takes time to lift and move on; Chromium's gesture detector drops a tap that
            # comes right after a touch sequence ended (seen with under 100 ms, so allow plenty).
            self.page.wait_for_timeout(600)
        session.detach()

    def stroke_count(self) -> int:
        return int(self.canvas.get_attribute("data-strokes") or 0)

    def ink_pixels(self) -> int:
        """Dark pixels on the visible canvas (its backing store, at the device pixel ratio)."""
        return self.canvas.evaluate(
            """canvas => {
                const data = canvas.getContext("2d").getImageData(0, 0, canvas.width, canvas.height).data;
                let dark = 0;
                for (let i = 0; i < data.length; i += 4) if (data[i] < 128) dark += 1;
                return dark;
            }"""
        )

    def wait_until_done(self) -> None:
        expect(self.status).to_have_attribute("data-state", "done", timeout=RESULT_TIMEOUT_MS)

    def drawing_id(self) -> str:
        """The id of the drawing whose answer the page shows."""
        value = self.page.locator("#answer").get_attribute("data-drawing-id")
        assert value
        return value
