/* Inkwell drawing page: a canvas, the REST API, and the result of each model. No dependencies. */
"use strict";

(() => {
  const SIZE = 400; // logical drawing surface, and the size of the exported PNG
  const NUMBER_WIDTH = 1200; // a number's canvas: as tall as a digit's, three times as wide
  const NOT_A_DIGIT = "not_a_digit"; // the label (and the answer) of a drawing that is not a digit
  const NOT_A_DIGIT_MARK = "✗"; // how the page shows that answer where a digit would be
  const LINE_WIDTH = 25; // at 400 px: the stroke-to-digit proportions the models were trained for
  const MIN_STEP = 1.5; // skip pointer samples closer than this to the last kept point
  const MAX_POINTS = 5000; // the API's limit per drawing
  const POLL_WAIT_SECONDS = 10;
  const GIVE_UP_AFTER_MS = 120000;
  const AUTO_PREDICT_DELAY_MS = 400;
  const HISTORY_LENGTH = 24;
  const STORE = { model: "inkwell.model", client: "inkwell.clientId", auto: "inkwell.autoPredict" };

  const $ = (id) => document.getElementById(id);

  /* ---------- small helpers ---------- */

  function stored(key) {
    try {
      return window.localStorage.getItem(key);
    } catch {
      return null; // storage disabled (private mode, policy): the page still works
    }
  }

  function store(key, value) {
    try {
      window.localStorage.setItem(key, value);
    } catch {
      /* not remembered on this device; nothing else to do */
    }
  }

  /** The anonymous id of this device, made once and kept in localStorage. */
  function clientId() {
    let id = stored(STORE.client);
    if (!id || !/^[A-Za-z0-9_-]{1,64}$/.test(id)) {
      const bytes = crypto.getRandomValues(new Uint8Array(16));
      id = Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
      store(STORE.client, id);
    }
    return id;
  }

  function csrfToken() {
    const match = document.cookie.match(/(?:^|;\s*)csrftoken=([^;]+)/);
    if (match) return decodeURIComponent(match[1]);
    const meta = document.querySelector('meta[name="csrf-token"]');
    return meta ? meta.content : "";
  }

  const percent = (p, digits = 1) => `${(p * 100).toFixed(digits)}%`;
  const ms = (value) => (value == null ? "–" : `${Math.round(value)} ms`);

  function element(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text != null) node.textContent = text;
    return node;
  }

  /* ---------- the API ---------- */

  class ApiError extends Error {
    constructor(code, message, status) {
      super(message);
      this.code = code;
      this.status = status;
    }
  }

  /** Call the API; errors come back as ApiError with the API's stable code (or connection_lost). */
  async function api(path, { method = "GET", body, signal } = {}) {
    const headers = { Accept: "application/json" };
    if (body !== undefined) {
      headers["Content-Type"] = "application/json";
      headers["X-CSRFToken"] = csrfToken();
    }
    let response;
    try {
      response = await fetch(path, {
        method,
        headers,
        body: body === undefined ? undefined : JSON.stringify(body),
        credentials: "same-origin",
        signal,
      });
    } catch (error) {
      if (error.name === "AbortError") throw error;
      throw new ApiError("connection_lost", "Connection lost.", 0);
    }
    let data = null;
    try {
      data = await response.json();
    } catch {
      data = null;
    }
    if (!response.ok) {
      const detail = (data && data.error) || {};
      throw new ApiError(
        detail.code || `http_${response.status}`,
        detail.message || `The server answered ${response.status}.`,
        response.status,
      );
    }
    return data;
  }

  /* ---------- the canvas ---------- */

  /** Paint strokes (lists of [x, y, t] in the 400 px high space) as smooth round-capped black lines. */
  function paint(ctx, strokes, scale) {
    ctx.setTransform(1, 0, 0, 1, 0, 0);
    ctx.fillStyle = "#fff";
    ctx.fillRect(0, 0, ctx.canvas.width, ctx.canvas.height);
    ctx.setTransform(scale, 0, 0, scale, 0, 0);
    ctx.strokeStyle = "#000";
    ctx.fillStyle = "#000";
    ctx.lineWidth = LINE_WIDTH;
    ctx.lineCap = "round";
    ctx.lineJoin = "round";
    for (const stroke of strokes) {
      const [x0, y0] = stroke[0];
      if (stroke.length === 1) {
        ctx.beginPath();
        ctx.arc(x0, y0, LINE_WIDTH / 2, 0, Math.PI * 2);
        ctx.fill();
        continue;
      }
      // Quadratic curves through the midpoints: smooth without moving the stroke off the samples.
      ctx.beginPath();
      ctx.moveTo(x0, y0);
      for (let i = 1; i < stroke.length - 1; i += 1) {
        const [x, y] = stroke[i];
        const [nx, ny] = stroke[i + 1];
        ctx.quadraticCurveTo(x, y, (x + nx) / 2, (y + ny) / 2);
      }
      const [xn, yn] = stroke[stroke.length - 1];
      ctx.lineTo(xn, yn);
      ctx.stroke();
    }
  }

  class Sketch {
    constructor(canvas, { onChange, onStrokeEnd }) {
      this.canvas = canvas;
      this.ctx = canvas.getContext("2d");
      this.width = SIZE; // logical width: SIZE for a digit, NUMBER_WIDTH for a number
      this.strokes = [];
      this.current = null;
      this.pointerId = null;
      this.origin = 0;
      this.frame = 0;
      this.onChange = onChange;
      this.onStrokeEnd = onStrokeEnd;

      canvas.addEventListener("pointerdown", (e) => this.down(e));
      canvas.addEventListener("pointermove", (e) => this.move(e));
      canvas.addEventListener("pointerup", (e) => this.up(e));
      canvas.addEventListener("pointercancel", (e) => this.up(e));
      canvas.addEventListener("lostpointercapture", (e) => this.up(e));
      canvas.addEventListener("contextmenu", (e) => e.preventDefault());
      new ResizeObserver(() => this.resize()).observe(canvas);
      window.addEventListener("resize", () => this.resize());
      this.resize();
    }

    get pointCount() {
      return this.strokes.reduce((sum, stroke) => sum + stroke.length, 0);
    }

    /** Match the backing store to the CSS size times the device pixel ratio, so lines stay crisp. */
    resize() {
      const { width } = this.canvas.getBoundingClientRect();
      const pixels = Math.max(1, Math.round(width * (window.devicePixelRatio || 1)));
      const height = Math.max(1, Math.round((pixels * SIZE) / this.width));
      if (this.canvas.width !== pixels || this.canvas.height !== height) {
        this.canvas.width = pixels;
        this.canvas.height = height;
      }
      this.redraw();
    }

    redraw() {
      paint(this.ctx, this.strokes, this.canvas.width / this.width);
    }

    /** Switch between the digit and the number canvas; the drawing is cleared. */
    setWidth(width) {
      if (this.drawing) return;
      this.width = width;
      this.strokes = [];
      this.resize();
      this.changed();
    }

    scheduleRedraw() {
      if (this.frame) return;
      this.frame = requestAnimationFrame(() => {
        this.frame = 0;
        this.redraw();
      });
    }

    point(e) {
      const rect = this.canvas.getBoundingClientRect();
      const clamp = (v, most) => Math.min(most, Math.max(0, v));
      const x = clamp(((e.clientX - rect.left) * this.width) / rect.width, this.width);
      const y = clamp(((e.clientY - rect.top) * SIZE) / rect.height, SIZE);
      return [Math.round(x * 10) / 10, Math.round(y * 10) / 10, Math.max(0, Math.round(e.timeStamp - this.origin))];
    }

    down(e) {
      if (this.pointerId !== null || !e.isPrimary) return;
      if (e.pointerType === "mouse" && e.button !== 0) return;
      e.preventDefault();
      if (document.activeElement instanceof HTMLElement) document.activeElement.blur();
      this.canvas.setPointerCapture(e.pointerId);
      this.pointerId = e.pointerId;
      if (this.strokes.length === 0) this.origin = e.timeStamp;
      this.current = [this.point(e)];
      this.strokes.push(this.current);
      this.canvas.dataset.drawing = e.pointerType || "mouse";
      this.changed();
    }

    move(e) {
      if (e.pointerId !== this.pointerId || !this.current) return;
      e.preventDefault();
      const samples = typeof e.getCoalescedEvents === "function" ? e.getCoalescedEvents() : [];
      for (const sample of samples.length ? samples : [e]) {
        const p = this.point(sample);
        const last = this.current[this.current.length - 1];
        if (Math.hypot(p[0] - last[0], p[1] - last[1]) >= MIN_STEP) this.current.push(p);
      }
      this.scheduleRedraw();
    }

    up(e) {
      if (e.pointerId !== this.pointerId) return;
      if (this.current) {
        const p = this.point(e);
        const last = this.current[this.current.length - 1];
        if (Math.hypot(p[0] - last[0], p[1] - last[1]) >= MIN_STEP) this.current.push(p);
      }
      this.pointerId = null;
      this.current = null;
      delete this.canvas.dataset.drawing;
      this.redraw();
      this.changed();
      this.onStrokeEnd();
    }

    get drawing() {
      return this.pointerId !== null;
    }

    undo() {
      if (this.drawing || this.strokes.length === 0) return false;
      this.strokes.pop();
      this.redraw();
      this.changed();
      return true;
    }

    clear() {
      if (this.drawing || this.strokes.length === 0) return false;
      this.strokes = [];
      this.redraw();
      this.changed();
      return true;
    }

    changed() {
      this.canvas.dataset.strokes = String(this.strokes.length);
      this.onChange();
    }

    /** The drawing as the API takes it: a PNG 400 px high (400 or 1200 wide) and the strokes, at most
     * MAX_POINTS points. */
    export() {
      const surface = document.createElement("canvas");
      surface.width = this.width;
      surface.height = SIZE;
      paint(surface.getContext("2d"), this.strokes, 1);
      const total = this.pointCount;
      const every = Math.ceil(total / MAX_POINTS);
      const strokes =
        every <= 1
          ? this.strokes.map((stroke) => stroke.map((p) => p.slice()))
          : this.strokes.map((stroke) =>
              stroke.filter((_, i) => i % every === 0 || i === stroke.length - 1).map((p) => p.slice()),
            );
      return { image: surface.toDataURL("image/png"), canvas_width: this.width, canvas_height: SIZE, strokes };
    }
  }

  /* ---------- page state ---------- */

  const ui = {
    canvas: $("canvas"),
    hint: $("canvas-hint"),
    numberMode: $("number-mode"),
    numberAnswer: $("number-answer"),
    numberBoxes: $("number-boxes"),
    numberDigits: $("number-digits"),
    numberFeedback: $("number-feedback"),
    numberLabel: $("number-label"),
    numberSend: $("number-send"),
    labelGroup: $("labels"),
    processedFigure: document.querySelector(".processed-figure"),
    model: $("model"),
    modelDescription: $("model-description"),
    predict: $("predict"),
    compare: $("compare"),
    undo: $("undo"),
    clear: $("clear"),
    auto: $("auto-predict"),
    status: $("status"),
    retry: $("retry"),
    answer: $("answer"),
    digit: $("digit"),
    confidence: $("confidence"),
    answerModel: $("answer-model"),
    processed: $("processed"),
    processedPlaceholder: $("processed-placeholder"),
    saliency: $("saliency"),
    explain: $("explain"),
    saliencyLegend: $("saliency-legend"),
    bars: $("probabilities"),
    timings: $("timings"),
    feedback: $("feedback"),
    confirm: $("confirm"),
    labels: Array.from(document.querySelectorAll("[data-label]")),
    feedbackNote: $("feedback-note"),
    comparePanel: $("compare-panel"),
    compareResults: $("compare-results"),
    history: $("history"),
    historyEmpty: $("history-empty"),
  };

  let models = [];
  // Everything below describes the drawing now on the canvas and is reset when it changes.
  let payload = null; // the export, made once per drawing
  let jobs = new Map(); // model name -> {id, result} for this drawing
  let historyEntry = null;
  let labelled = null; // the label sent for this drawing's shown result
  let feedbackToken = ""; // the shown drawing's secret from its 202 answer: only it may send feedback
  // The prediction in flight (or the last one), and what the retry button repeats.
  let run = null;
  let autoTimer = 0;

  const sketch = new Sketch(ui.canvas, { onChange: drawingChanged, onStrokeEnd: strokeEnded });

  function modelInfo(name) {
    return models.find((m) => m.name === name) || { name, title: name };
  }

  function setStatus(state, message, { retry = false } = {}) {
    ui.status.dataset.state = state;
    ui.status.textContent = message;
    ui.retry.hidden = !retry;
  }

  function updateButtons() {
    const empty = sketch.strokes.length === 0;
    ui.undo.disabled = empty;
    ui.clear.disabled = empty;
    ui.predict.disabled = empty || models.length === 0;
    ui.compare.disabled = empty || models.length < 2;
    ui.hint.hidden = !empty;
  }

  function drawingChanged() {
    if (run) run.controller.abort();
    run = null;
    payload = null;
    jobs = new Map();
    historyEntry = null;
    labelled = null;
    clearTimeout(autoTimer);
    updateButtons();
    setFeedbackEnabled(false);
    ui.comparePanel.hidden = true;
    if (!models.length) return; // keep the "could not load the models" status and its retry
    if (sketch.strokes.length === 0) {
      showEmptyAnswer();
      setStatus("idle", "Draw a digit to begin.");
    } else if (ui.answer.dataset.state === "done") {
      ui.answer.dataset.state = "stale";
      setStatus("stale", "The drawing changed: predict again.");
    } else if (ui.status.dataset.state !== "idle") {
      setStatus("idle", "Ready when you are.");
    }
  }

  function strokeEnded() {
    if (!ui.auto.checked) return;
    clearTimeout(autoTimer);
    autoTimer = setTimeout(() => {
      if (!sketch.drawing && sketch.strokes.length) predict();
    }, AUTO_PREDICT_DELAY_MS);
  }

  /* ---------- models ---------- */

  async function loadModels() {
    try {
      models = await api("/api/models/");
    } catch (error) {
      ui.model.replaceChildren(new Option("Models unavailable"));
      setStatus(error.code === "connection_lost" ? "offline" : "failed", `Could not load the models: ${error.message}`, {
        retry: true,
      });
      return;
    }
    const options = models.map((m) => {
      const accuracy = m.website_accuracy ?? m.mnist_accuracy;
      return new Option(accuracy != null ? `${m.title} · ${percent(accuracy)}` : m.title, m.name);
    });
    ui.model.replaceChildren(...options);
    const remembered = stored(STORE.model);
    const fallback = (models.find((m) => m.default) || models[0] || {}).name;
    ui.model.value = models.some((m) => m.name === remembered) ? remembered : fallback;
    ui.model.disabled = models.length === 0;
    describeModel();
    updateButtons();
    if (ui.status.dataset.state !== "idle" && !sketch.strokes.length) setStatus("idle", "Draw a digit to begin.");
  }

  function describeModel() {
    const m = modelInfo(ui.model.value);
    const parts = [];
    if (m.description) parts.push(m.description);
    const figures = [];
    if (m.mnist_accuracy != null) figures.push(`MNIST ${percent(m.mnist_accuracy)}`);
    if (m.website_accuracy != null) figures.push(`site drawings ${percent(m.website_accuracy)}`);
    if (m.parameters) figures.push(`${m.parameters.toLocaleString("en")} parameters`);
    if (m.version) figures.push(`v${m.version}`);
    if (figures.length) parts.push(figures.join(" · "));
    ui.modelDescription.textContent = parts.join(" ");
  }

  /* ---------- predicting ---------- */

  /** Read the drawing with the chosen model, or with every model side by side. */
  function predict({ compare = false } = {}) {
    clearTimeout(autoTimer);
    if (sketch.strokes.length === 0) {
      setStatus("idle", "Draw a digit first.");
      return;
    }
    if (!models.length) return;
    const main = ui.model.value;
    const names = compare ? [main, ...models.map((m) => m.name).filter((n) => n !== main)] : [main];
    if (run) run.controller.abort();
    payload = payload || { ...sketch.export(), client_id: clientId(), ...(ui.numberMode.checked ? { kind: "number" } : {}) };
    const current = { main, names, compare, controller: new AbortController() };
    current.retry = () => execute(current);
    run = current;
    if (compare) showComparePlaceholders(names);
    execute(current);
  }

  async function execute(current) {
    if (current !== run) return;
    if (current.controller.signal.aborted) current.controller = new AbortController();
    setStatus("sending", current.compare ? "Sending to all models…" : "Sending…");
    ui.answer.dataset.state = ui.answer.dataset.state === "empty" ? "empty" : "pending";
    const outcomes = await Promise.allSettled(current.names.map((name) => executeJob(current, name)));
    if (current !== run) return;
    const mainOutcome = outcomes[0];
    if (mainOutcome.status === "rejected") {
      const error = mainOutcome.reason;
      if (error.name === "AbortError") return;
      ui.answer.dataset.state = ui.answer.dataset.state === "empty" ? "empty" : "stale";
      if (error.code === "connection_lost") {
        setStatus("offline", "Connection lost. Check your network, then retry.", { retry: true });
      } else {
        setStatus("failed", `Failed: ${error.message}`, { retry: true });
      }
      return;
    }
    const result = mainOutcome.value;
    if (result.status === "failed") {
      const message = (result.error && result.error.message) || "The model could not read this drawing.";
      setStatus("failed", `Failed: ${message}`, { retry: true });
      return;
    }
    const othersFailed = outcomes.slice(1).some((o) => o.status === "rejected" || o.value.status === "failed");
    const total = result.timings && result.timings.total_ms;
    const done = total != null ? `Done in ${ms(total)}.` : "Done.";
    setStatus("done", othersFailed ? `${done} Some models did not answer.` : done, { retry: othersFailed });
  }

  /** Submit (unless this drawing already went to this model) and long-poll until finished. */
  async function executeJob(current, name) {
    const { signal } = current.controller;
    let job = jobs.get(name);
    if (!job || (job.result && job.result.status === "failed")) {
      job = { id: null, token: "", result: null };
      jobs.set(name, job);
    }
    if (!job.id) {
      // One request per drawing: the answer is the result itself when it is ready within the wait.
      const created = await api(`/api/drawings/?wait=${POLL_WAIT_SECONDS}`, {
        method: "POST",
        body: { ...payload, model: name },
        signal,
      });
      job.id = created.id;
      job.token = created.feedback_token;
      if (["done", "failed"].includes(created.status)) job.result = created;
      if (name === current.main) addHistory(name);
    }
    const deadline = Date.now() + GIVE_UP_AFTER_MS;
    while (!job.result || !["done", "failed"].includes(job.result.status)) {
      if (job.result && name === current.main && current === run) showProgress(job.result.status, current);
      if (Date.now() > deadline) throw new ApiError("timeout", "No answer yet: the service is busy.", 0);
      job.result = await api(`/api/drawings/${job.id}/?wait=${POLL_WAIT_SECONDS}`, { signal });
    }
    if (current === run) {
      if (name === current.main) showResult(job.result, job.id, job.token);
      if (current.compare) showCompareCard(name, job.result);
    }
    return job.result;
  }

  function showProgress(state, current) {
    const who = current.compare ? "all models" : modelInfo(current.main).title;
    if (state === "queued") setStatus("queued", "Queued: waiting for a worker…");
    else if (state === "running") setStatus("running", `Reading with ${who}…`);
  }

  /* ---------- the answer ---------- */

  function buildBars(container, testIds) {
    container.replaceChildren();
    const bars = [];
    for (let d = 0; d < 10; d += 1) {
      const item = element("li", "bar");
      if (testIds) item.dataset.testid = `prob-${d}`;
      const value = element("span", "bar-value", "");
      const track = element("span", "bar-track");
      const fill = element("span", "bar-fill");
      track.append(fill);
      item.append(value, track, element("span", "bar-digit", String(d)));
      container.append(item);
      bars.push({ item, value, fill });
    }
    return bars;
  }

  function fillBars(bars, probabilities, digit) {
    bars.forEach(({ item, value, fill }, d) => {
      const p = probabilities ? probabilities[d] : 0;
      fill.style.height = `${Math.max(0, Math.min(1, p)) * 100}%`;
      value.textContent = probabilities ? (p >= 0.995 ? "100%" : `${Math.round(p * 100)}%`) : "";
      item.classList.toggle("top", probabilities != null && d === digit);
      item.title = probabilities ? `${d}: ${percent(p, 2)}` : String(d);
      item.setAttribute("aria-label", item.title);
    });
  }

  const mainBars = buildBars(ui.bars, true);

  function showEmptyAnswer() {
    ui.answer.dataset.state = "empty";
    ui.answer.dataset.notADigit = "false";
    showNumberParts(false);
    ui.digit.textContent = "–";
    ui.confidence.textContent = "\u00a0";
    ui.answerModel.textContent = "\u00a0";
    ui.processed.hidden = true;
    ui.processed.removeAttribute("src");
    ui.processedPlaceholder.hidden = false;
    hideSaliency();
    ui.timings.textContent = "";
    fillBars(mainBars, null, null);
  }

  /** Show the parts of the answer that belong to a number (or those of a single digit). */
  function showNumberParts(number) {
    ui.numberAnswer.hidden = !number;
    ui.numberFeedback.hidden = !number;
    ui.labelGroup.hidden = number;
    ui.bars.hidden = number;
    ui.feedback.dataset.kind = number ? "number" : "digit";
    ui.answer.dataset.kind = number ? "number" : "digit";
    ui.processedFigure.hidden = number;
  }

  /** The drawing with a box and the answer drawn over each digit the worker found. */
  function drawBoxes(image, digits) {
    const canvas = ui.numberBoxes;
    const picture = new Image();
    picture.onload = () => {
      canvas.width = picture.width;
      canvas.height = picture.height;
      const ctx = canvas.getContext("2d");
      ctx.drawImage(picture, 0, 0);
      ctx.lineWidth = 4;
      ctx.strokeStyle = "#d9480f";
      ctx.fillStyle = "#d9480f";
      ctx.font = "bold 44px system-ui, sans-serif";
      ctx.textBaseline = "bottom";
      for (const { digit, box } of digits) {
        const [x, y, w, h] = box;
        ctx.strokeRect(x, y, w, h);
        ctx.fillText(digit == null ? NOT_A_DIGIT_MARK : String(digit), x + 4, Math.max(44, y - 2));
      }
    };
    picture.src = image;
  }

  function showNumberResult(result, id, token) {
    showNumberParts(true);
    const digits = result.digits || [];
    ui.digit.textContent = result.number == null ? "–" : result.number;
    const lowest = digits.length ? Math.min(...digits.map((d) => d.confidence)) : null;
    ui.confidence.textContent =
      lowest == null ? "No digit found" : `${digits.length} digit${digits.length > 1 ? "s" : ""} · least sure ${percent(lowest)}`;
    ui.processed.hidden = true;
    ui.processedPlaceholder.hidden = false;
    if (payload) drawBoxes(payload.image, digits);
    ui.numberDigits.replaceChildren(
      ...digits.map((d, index) => {
        const item = element("li", "number-digit");
        item.dataset.testid = `number-digit-${index}`;
        const img = element("img", "processed");
        img.src = d.processed_image;
        img.alt = `Digit ${index + 1} as the model saw it`;
        img.width = 56;
        img.height = 56;
        const read = d.not_a_digit ? NOT_A_DIGIT_MARK : String(d.digit);
        item.title = d.not_a_digit ? "Not a digit: left out of the number" : `Read as ${d.digit}`;
        item.append(img, element("span", "number-digit-answer", read), element("span", "number-digit-confidence", percent(d.confidence, 0)));
        return item;
      }),
    );
    ui.confirm.textContent = result.number == null ? "Yes, it's right" : `Yes, it's ${result.number}`;
    ui.confirm.dataset.label = result.number == null ? "" : result.number;
    ui.numberLabel.value = result.number == null ? "" : result.number;
    labelled = null;
    setFeedbackEnabled(true, id, token);
    ui.confirm.disabled = result.number == null;
    updateHistory(result);
  }

  function showResult(result, id, token) {
    ui.answer.dataset.state = "done";
    ui.answer.dataset.drawingId = id;
    ui.answer.dataset.notADigit = String(Boolean(result.not_a_digit));
    ui.digit.textContent = result.not_a_digit ? NOT_A_DIGIT_MARK : String(result.digit);
    ui.confidence.textContent = result.not_a_digit
      ? `That does not look like a digit (${percent(result.confidence)} sure)`
      : `${percent(result.confidence)} confident`;
    const m = modelInfo(result.model);
    ui.answerModel.textContent = `${m.title}${result.model_version ? ` · v${result.model_version}` : ""}`;
    const t = result.timings || {};
    ui.timings.textContent = `Queue ${ms(t.queue_ms)} · Preprocess ${ms(t.preprocess_ms)} · Model ${ms(t.inference_ms)} · Total ${ms(t.total_ms)}`;
    hideSaliency();
    if (result.kind === "number") {
      showNumberResult(result, id, token);
      return;
    }
    showNumberParts(false);
    if (result.processed_image) {
      ui.processed.src = result.processed_image;
      ui.processed.hidden = false;
      ui.processedPlaceholder.hidden = true;
    }
    ui.explain.hidden = false;
    ui.explain.disabled = false;
    ui.explain.textContent = "Explain";
    if (result.saliency) showSaliency(result.saliency);
    fillBars(mainBars, result.probabilities, result.digit);
    ui.confirm.textContent = result.not_a_digit ? "Right, it's not a digit" : `Yes, it's ${result.digit}`;
    ui.confirm.dataset.label = String(answerOf(result));
    labelled = null;
    setFeedbackEnabled(true, id, token);
    updateHistory(result);
  }

  /* ---------- the explanation ---------- */

  function hideSaliency() {
    ui.saliency.hidden = true;
    ui.saliency.removeAttribute("src");
    ui.saliencyLegend.hidden = true;
    ui.explain.hidden = true;
  }

  function showSaliency(dataUrl) {
    ui.saliency.src = dataUrl;
    ui.saliency.hidden = false;
    ui.saliencyLegend.hidden = false;
    ui.explain.hidden = true;
  }

  /** Ask the worker for the saliency map of the shown answer (the same drawing, not a new one). */
  async function explainShown() {
    const id = ui.answer.dataset.drawingId;
    if (!id) return;
    ui.explain.disabled = true;
    ui.explain.textContent = "Explaining…";
    try {
      let result = await api(`/api/drawings/${id}/explain/`, { method: "POST", body: {} });
      const deadline = Date.now() + GIVE_UP_AFTER_MS;
      while (!result.saliency && Date.now() < deadline) {
        result = await api(`/api/drawings/${id}/?wait=${POLL_WAIT_SECONDS}`);
        if (!result.saliency && !result.explain) break; // the worker could not explain it
      }
      if (ui.answer.dataset.drawingId !== id) return;
      if (result.saliency) {
        showSaliency(result.saliency);
      } else {
        ui.explain.disabled = false;
        ui.explain.textContent = "Explain (try again)";
      }
    } catch (error) {
      ui.explain.disabled = false;
      ui.explain.textContent = "Explain (try again)";
      setStatus("failed", `No explanation: ${error.message}`);
    }
  }

  ui.explain.addEventListener("click", explainShown);

  /* ---------- compare ---------- */

  function showComparePlaceholders(names) {
    ui.comparePanel.hidden = false;
    ui.compareResults.replaceChildren(
      ...names.map((name) => {
        const card = element("article", "compare-card");
        card.dataset.model = name;
        card.dataset.state = "pending";
        if (name === ui.model.value) card.classList.add("chosen");
        const head = element("h3", "compare-title", modelInfo(name).title);
        const digit = element("div", "compare-digit", "…");
        digit.dataset.testid = `compare-digit-${name}`;
        const confidence = element("div", "compare-confidence", "waiting");
        const bars = element("ol", "bars bars-mini");
        card.append(head, digit, confidence, bars);
        card.bars = buildBars(bars, false);
        return card;
      }),
    );
    ui.compareResults.dataset.agreement = "";
  }

  function showCompareCard(name, result) {
    const card = ui.compareResults.querySelector(`[data-model="${name}"]`);
    if (!card) return;
    card.dataset.state = result.status;
    const [digit, confidence] = [card.querySelector(".compare-digit"), card.querySelector(".compare-confidence")];
    if (result.status === "done") {
      digit.textContent = result.kind === "number" ? (result.number ?? "–") : answerMark(answerOf(result));
      confidence.textContent = `${percent(result.confidence)} · ${ms(result.timings && result.timings.inference_ms)}`;
      fillBars(card.bars, result.probabilities, result.digit);
    } else {
      digit.textContent = "!";
      confidence.textContent = (result.error && result.error.message) || "failed";
    }
  }

  /* ---------- feedback ---------- */

  /** A digit drawing's answer as a label: the digit, or NOT_A_DIGIT. */
  function answerOf(result) {
    return result.not_a_digit ? NOT_A_DIGIT : result.digit;
  }

  /** A label button's value: a digit (a number), or NOT_A_DIGIT. */
  function parseLabel(value) {
    return value === NOT_A_DIGIT ? value : Number(value);
  }

  function answerMark(label) {
    return label === NOT_A_DIGIT ? NOT_A_DIGIT_MARK : String(label);
  }

  function answerName(label) {
    return label === NOT_A_DIGIT ? "not a digit" : String(label);
  }

  function setFeedbackEnabled(enabled, id, token) {
    ui.feedback.dataset.state = enabled ? "open" : "disabled";
    ui.feedback.dataset.drawingId = enabled ? id : "";
    feedbackToken = enabled ? token : "";
    ui.confirm.disabled = !enabled;
    for (const button of ui.labels) {
      button.disabled = !enabled;
      button.setAttribute("aria-pressed", "false");
    }
    ui.numberLabel.disabled = !enabled;
    ui.numberSend.disabled = !enabled;
    if (!enabled) ui.confirm.textContent = "Yes, it's right";
    ui.feedbackNote.textContent = enabled ? "" : "Predict first, then tell us if the answer was right.";
  }

  /** Send what the drawing really was: a digit (0-9), or for a number drawing the whole number (a string). */
  async function sendLabel(label) {
    const id = ui.feedback.dataset.drawingId;
    if (ui.feedback.dataset.state === "disabled" || !id) return;
    const entry = historyEntry;
    const said = ui.feedback.dataset.kind === "number" ? { number: label } : { label };
    ui.feedbackNote.textContent = "Saving…";
    try {
      await api(`/api/drawings/${id}/label/`, { method: "POST", body: { ...said, feedback_token: feedbackToken } });
    } catch (error) {
      ui.feedbackNote.textContent = `Not saved: ${error.message}`;
      return;
    }
    if (ui.feedback.dataset.drawingId !== id) return;
    labelled = label;
    for (const button of ui.labels) button.setAttribute("aria-pressed", String(parseLabel(button.dataset.label) === label));
    const right = String(label) === ui.confirm.dataset.label;
    const saved = label === NOT_A_DIGIT ? "not a digit" : label;
    ui.feedbackNote.textContent = right ? "Thanks! Marked as right." : `Thanks! Saved as ${saved}.`;
    ui.feedback.dataset.state = "sent";
    if (entry) {
      entry.label = label;
      renderHistory();
    }
  }

  /* ---------- history ---------- */

  const history = [];

  function addHistory(model) {
    if (historyEntry) {
      historyEntry.model = model;
      historyEntry.digit = null;
    } else {
      historyEntry = { image: payload.image, model, digit: null, confidence: null, label: null };
      history.unshift(historyEntry);
      history.length = Math.min(history.length, HISTORY_LENGTH);
    }
    renderHistory();
  }

  function updateHistory(result) {
    if (!historyEntry) return;
    historyEntry.model = result.model;
    historyEntry.digit = result.kind === "number" ? result.number : answerOf(result);
    historyEntry.confidence = result.confidence;
    historyEntry.label = labelled;
    renderHistory();
  }

  function renderHistory() {
    ui.historyEmpty.hidden = history.length > 0;
    ui.history.replaceChildren(
      ...history.map((entry) => {
        const item = element("li", "history-item");
        const img = element("img", "history-thumb");
        img.src = entry.image;
        img.alt = "";
        img.width = 56;
        img.height = 56;
        const answer = element("span", "history-digit", entry.digit == null ? "…" : answerMark(entry.digit));
        const meta = element("span", "history-meta", modelInfo(entry.model).name);
        item.append(img, answer, meta);
        if (entry.label != null) {
          const mark = element("span", "history-label", entry.label === entry.digit ? "✓" : `was ${answerMark(entry.label)}`);
          mark.classList.toggle("wrong", entry.label !== entry.digit);
          item.append(mark);
        }
        const said = entry.digit == null ? "waiting" : `read as ${answerName(entry.digit)} by ${modelInfo(entry.model).title}`;
        item.title = entry.label == null ? said : `${said}; it was ${answerName(entry.label)}`;
        return item;
      }),
    );
  }

  /* ---------- wiring ---------- */

  ui.predict.addEventListener("click", () => predict());
  ui.compare.addEventListener("click", () => predict({ compare: true }));
  ui.undo.addEventListener("click", () => sketch.undo());
  ui.clear.addEventListener("click", () => sketch.clear());
  ui.retry.addEventListener("click", () => {
    if (!models.length) loadModels();
    else if (run) run.retry();
  });
  ui.confirm.addEventListener("click", () => {
    const shown = ui.confirm.dataset.label;
    sendLabel(ui.feedback.dataset.kind === "number" ? shown : parseLabel(shown));
  });
  ui.numberFeedback.addEventListener("submit", (e) => {
    e.preventDefault();
    if (ui.numberLabel.reportValidity()) sendLabel(ui.numberLabel.value);
  });
  ui.numberMode.addEventListener("change", () => {
    const number = ui.numberMode.checked;
    document.body.classList.toggle("number-mode", number);
    ui.hint.textContent = number ? "Draw a number here" : "Draw a digit here";
    ui.canvas.setAttribute("aria-label", `Drawing area: draw ${number ? "a number" : "one digit"} with your mouse, finger or pen`);
    sketch.setWidth(number ? NUMBER_WIDTH : SIZE);
  });
  for (const button of ui.labels) button.addEventListener("click", () => sendLabel(parseLabel(button.dataset.label)));

  ui.model.addEventListener("change", () => {
    store(STORE.model, ui.model.value);
    describeModel();
    if (ui.answer.dataset.state === "done" && sketch.strokes.length) predict();
  });

  ui.auto.checked = stored(STORE.auto) === "1";
  ui.auto.addEventListener("change", () => store(STORE.auto, ui.auto.checked ? "1" : "0"));

  document.addEventListener("keydown", (e) => {
    if (e.defaultPrevented || e.altKey || e.isComposing) return;
    const target = e.target instanceof Element ? e.target : document.body;
    const typing = target.closest("input, select, textarea");
    const onControl = typing || target.closest("button, a, summary");
    if ((e.ctrlKey || e.metaKey) && !e.shiftKey && e.key.toLowerCase() === "z" && !typing) {
      e.preventDefault();
      sketch.undo();
      return;
    }
    if (e.ctrlKey || e.metaKey) return;
    if (e.key === "Enter" && !onControl) {
      e.preventDefault();
      predict();
    } else if (e.key === "Escape" && !target.closest("select")) {
      sketch.clear();
    } else if (/^[0-9n]$/.test(e.key) && !typing && ui.feedback.dataset.state !== "disabled" && ui.feedback.dataset.kind !== "number") {
      sendLabel(e.key === "n" ? NOT_A_DIGIT : Number(e.key));
    }
  });

  window.addEventListener("online", () => {
    if (ui.status.dataset.state === "offline") ui.retry.click();
  });

  showEmptyAnswer();
  setFeedbackEnabled(false);
  updateButtons();
  renderHistory();
  loadModels();
})();
