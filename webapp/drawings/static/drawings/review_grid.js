// The admin's grid review: the tile under the pointer (or clicked, or reached with the arrow keys) has
// the focus, a digit key (x or n: not a digit) marks that tile as an exception, and Enter posts the page:
// each tile's hidden field holds the models' answer unless the reviewer typed another label.
(function () {
  "use strict";

  var form = document.getElementById("grid-form");
  if (!form || !form.querySelector('button[type="submit"]')) return; // read-only: nothing to mark
  var NOT_A_DIGIT = form.dataset.notADigit;
  var tiles = Array.prototype.slice.call(form.querySelectorAll(".grid-tile"));
  var corrected = document.getElementById("grid-corrected");
  var lastPointer = null;

  function field(tile) {
    return form.elements["label-" + tile.dataset.drawing];
  }

  function labelName(label) {
    return label === NOT_A_DIGIT ? "not a digit" : label;
  }

  // A label equal to the answer, or the tile's current mark, takes the mark off.
  function mark(tile, label) {
    var input = field(tile);
    if (label === null || label === tile.dataset.answer || label === tile.dataset.mark) {
      delete tile.dataset.mark;
      input.value = tile.dataset.answer;
      tile.classList.remove("grid-corrected");
      tile.querySelector(".grid-mark").textContent = "";
    } else {
      tile.dataset.mark = label;
      input.value = label;
      tile.classList.add("grid-corrected");
      tile.querySelector(".grid-mark").textContent = "\u2192 " + labelName(label);
    }
    corrected.textContent = String(form.querySelectorAll(".grid-tile.grid-corrected").length);
  }

  // The nearest tile in the next row up (direction -1) or down (+1), closest horizontally.
  function vertical(tile, direction) {
    var from = tile.getBoundingClientRect();
    var middle = from.left + from.width / 2;
    var candidates = tiles
      .map(function (other) {
        var box = other.getBoundingClientRect();
        var gap = direction > 0 ? box.top - from.bottom : from.top - box.bottom;
        return { tile: other, gap: gap, offset: Math.abs(box.left + box.width / 2 - middle) };
      })
      .filter(function (c) { return c.gap >= -1; });
    if (!candidates.length) return null;
    var nearestRow = Math.min.apply(null, candidates.map(function (c) { return c.gap; }));
    return candidates
      .filter(function (c) { return c.gap <= nearestRow + 2; })
      .sort(function (a, b) { return a.offset - b.offset; })[0].tile;
  }

  function move(tile, key) {
    var index = tiles.indexOf(tile);
    if (index < 0) return tiles[0];
    if (key === "ArrowLeft") return tiles[Math.max(index - 1, 0)];
    if (key === "ArrowRight") return tiles[Math.min(index + 1, tiles.length - 1)];
    return vertical(tile, key === "ArrowDown" ? 1 : -1);
  }

  function keyLabel(key) {
    if (/^[0-9]$/.test(key)) return key;
    if (key === "x" || key === "X" || key === "n" || key === "N") return NOT_A_DIGIT;
    return undefined;
  }

  tiles.forEach(function (tile) {
    // Safari does not focus a clicked button by itself.
    tile.addEventListener("click", function () { tile.focus(); });
    // The focus follows the pointer, but not a page scrolling under a pointer that stands still.
    tile.addEventListener("mousemove", function (event) {
      var at = event.screenX + "," + event.screenY;
      if (at !== lastPointer && document.activeElement !== tile) tile.focus({ preventScroll: true });
      lastPointer = at;
    });
  });

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey) return;
    var focused = document.activeElement;
    var onTile = tiles.indexOf(focused) >= 0;
    if (!onTile && focused !== document.body && focused !== null) return; // links, the submit button
    if (event.key === "Enter") {
      event.preventDefault();
      form.requestSubmit();
      return;
    }
    if (/^Arrow(Left|Right|Up|Down)$/.test(event.key)) {
      var next = move(focused, event.key);
      if (next) {
        event.preventDefault();
        next.focus();
      }
      return;
    }
    if (!onTile) return;
    var label = keyLabel(event.key);
    if (label !== undefined) {
      event.preventDefault();
      mark(focused, label);
    } else if (event.key === "Backspace" || event.key === "Escape" || event.key === "Delete") {
      event.preventDefault();
      mark(focused, null);
    }
  });

  form.addEventListener("submit", function () {
    form.querySelector('button[type="submit"]').disabled = true; // one POST per page
  });

  if (tiles.length) tiles[0].focus({ preventScroll: true });
})();
