// ganforge lab: the page. Plain JavaScript and canvas, no build step, no external assets.
// It talks to the server over one WebSocket: it sends settings and controls (validated by the
// server) and draws the snapshots the server streams back.
"use strict";
(() => {
  const $ = (id) => document.getElementById(id);

  const COLOR = {
    real: "#1d1d1f",
    fake: "#e8710a",
    mesh: "rgba(232, 113, 10, 0.50)",
    arrow: "#8a2c02",
    dReal: "#1b7837",
    dFake: "#762a83",
    pData: "#1d1d1f",
    pG: "#2ca02c",
    dCurve: "#1f5fbf",
    dStar: "#8c8c8c",
    grid: "#e6e6e6",
    ink: "#1d1d1f",
    muted: "#6b6b70",
    drawn: "#2a6f97",
  };
  // speed slider positions -> rounds per second (0 = as fast as possible)
  const SPEEDS = [1, 5, 20, 60, 200, 600, 0];
  const MAX_HISTORY = 800;
  const TIMED = new Set(["set", "control", "draw", "story", "guided"]);

  const lab = {
    session: null,
    hello: null,
    ws: null,
    seq: 0,
    pending: new Map(), // seq -> send time (ms)
    latest: null, // newest snapshot not yet drawn or last drawn
    frames: 0, // snapshots drawn
    received: 0, // snapshots received
    frameTimes: [], // draw times of the last second
    latencies: [], // ms from sending a change to drawing a snapshot that includes it
    errors: [], // error messages received
    settings: null, // last settings the server reported
    drawn: [], // points the user placed, in data coordinates
    drawing: false,
    layers: { heat: true, real: true, fake: true, mesh: true, arrows: true },
    run: -1,
    hist: null,
    experiments: [],
    lastGuided: null,
    renderQueued: false,
  };
  window.lab = lab; // read by the tests and handy in the console

  // ------------------------------------------------------------------ helpers
  function f32(b64) {
    const bin = atob(b64);
    const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    return new Float32Array(bytes.buffer);
  }
  const fmt = (v, d = 3) => (v === null || v === undefined || !isFinite(v) ? "–" : Number(v).toFixed(d));
  const fmtSigned = (v, d = 3) => (v === null || v === undefined || !isFinite(v) ? "–" : (v < 0 ? "−" : "") + Math.abs(v).toFixed(d));
  function el(tag, attrs = {}, text = "") {
    const e = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs)) e.setAttribute(k, v);
    if (text) e.textContent = text;
    return e;
  }
  function emptyHistory() {
    return { d_loss: [], g_loss: [], value: [], d_real: [], d_fake: [], real_logit: [], fake_logit: [], modes: [], hq: [], js: [], step: [], kind: [] };
  }
  lab.hist = emptyHistory();

  // colour map for D: purple (judged fake) - white (undecided) - green (judged real)
  const LUT = (() => {
    const stops = [[0, [118, 42, 131]], [0.25, [194, 165, 207]], [0.5, [247, 247, 247]], [0.75, [166, 219, 160]], [1, [27, 120, 55]]];
    const lut = new Uint8ClampedArray(256 * 3);
    for (let i = 0; i < 256; i++) {
      const t = i / 255;
      let k = 0;
      while (k < stops.length - 2 && t > stops[k + 1][0]) k++;
      const [t0, c0] = stops[k], [t1, c1] = stops[k + 1];
      const u = (t - t0) / (t1 - t0);
      for (let j = 0; j < 3; j++) lut[i * 3 + j] = c0[j] + u * (c1[j] - c0[j]);
    }
    return lut;
  })();

  // ------------------------------------------------------------------ connection
  // The server prints (and opens) the page's address with a per-launch token, ?token=...; the
  // WebSocket is refused without it, so that no other page or local user can drive the lab.
  function connect() {
    const token = new URLSearchParams(location.search).get("token");
    if (!token) {
      setConn("no token in the address", "bad");
      showError("this address has no ?token=: open the full address ganforge lab printed when it started");
      return;
    }
    const ws = new WebSocket((location.protocol === "https:" ? "wss://" : "ws://") + location.host +
                             "/ws?token=" + encodeURIComponent(token));
    lab.ws = ws;
    ws.onopen = () => setConn("connected", "ok");
    ws.onclose = () => {
      if (lab.session) setConn("disconnected: reload the page", "bad");
      else setConn("refused: open the full address ganforge lab printed (with its token)", "bad");
    };
    ws.onerror = () => setConn("connection error", "bad");
    ws.onmessage = (ev) => {
      let msg;
      try { msg = JSON.parse(ev.data); } catch (e) { return; }
      handle(msg);
    };
  }
  function setConn(text, cls) {
    const c = $("conn");
    c.textContent = text;
    c.className = "conn " + cls;
  }
  function send(obj) {
    if (!lab.ws || lab.ws.readyState !== WebSocket.OPEN) {
      showError("not connected to the lab server; reload the page");
      return null;
    }
    obj.seq = ++lab.seq;
    // latency is timed for changes the user makes, not for requests such as listing experiments
    if (TIMED.has(obj.type)) lab.pending.set(obj.seq, performance.now());
    lab.ws.send(JSON.stringify(obj));
    return obj.seq;
  }
  lab.send = send;

  function handle(msg) {
    switch (msg.type) {
      case "hello": return onHello(msg);
      case "snapshot": return onSnapshot(msg);
      case "error": return onError(msg);
      case "experiments": return onExperiments(msg.names);
      case "saved":
        $("exp-msg").textContent = `Saved “${msg.name}”.`;
        send({ type: "list" });
        return;
      case "loaded":
        $("exp-msg").textContent = `Loaded “${msg.name}” at round ${msg.step}.`;
        syncControls(msg.settings, true);
        return;
      case "state": lab.state = msg; return;
      default: return;
    }
  }

  // ------------------------------------------------------------------ hello: build the controls
  function fillSelect(select, entries) {
    select.innerHTML = "";
    for (const [value, label] of entries) select.appendChild(el("option", { value }, label));
  }
  function onHello(h) {
    lab.hello = h;
    lab.session = h.session;
    fillSelect($("target"), Object.entries(h.targets).map(([k, v]) => [k, `${k}: ${v}`]));
    fillSelect($("objective"), Object.keys(h.objectives).map((k) => [k, k]));
    for (const s of document.querySelectorAll(".opt-select")) fillSelect(s, h.optimizers.map((o) => [o, o]));
    fillSelect($("noise"), h.noises.map((n) => [n, n]));
    const box = $("stories");
    box.innerHTML = "";
    for (const [name, story] of Object.entries(h.stories)) {
      const b = el("button", { title: story.summary, "data-story": name }, story.title);
      b.addEventListener("click", () => send({ type: "story", name }));
      box.appendChild(b);
    }
    syncControls(h.settings, true);
    send({ type: "list" });
  }

  function syncControls(settings, force) {
    if (!settings) return;
    const before = lab.settings;
    lab.settings = settings;
    for (const input of document.querySelectorAll("[data-key]")) {
      const key = input.dataset.key;
      if (!(key in settings)) continue;
      const changed = !before || before[key] !== settings[key];
      if (!force && !changed) continue;
      if (document.activeElement === input && !force) continue;
      if (input.type === "checkbox") input.checked = !!settings[key];
      else input.value = String(settings[key]);
      input.classList.remove("invalid");
    }
    $("objective-desc").textContent = (lab.hello && lab.hello.objectives[settings.objective]) || "";
    const pos = SPEEDS.indexOf(settings.speed);
    if (pos >= 0 && (force || !before || before.speed !== settings.speed)) {
      $("speed").value = String(pos);
      $("speed-label").textContent = speedLabel(pos);
    }
    $("dstar-fig").hidden = !settings.show_dstar || (lab.latest && lab.latest.dim === 1);
  }

  // ------------------------------------------------------------------ errors
  let errorTimer = null;
  function showError(text, field) {
    const box = $("error");
    box.textContent = text;
    box.hidden = false;
    clearTimeout(errorTimer);
    errorTimer = setTimeout(() => { box.hidden = true; }, 8000);
    if (field) {
      for (const input of document.querySelectorAll(`[data-key="${field}"]`)) {
        input.classList.add("invalid");
        input.title = text;
      }
    }
  }
  function onError(msg) {
    lab.errors.push(msg.message);
    if (msg.seq !== null && msg.seq !== undefined) lab.pending.delete(msg.seq);
    showError(msg.message, msg.field);
  }
  lab.showError = showError;

  // ------------------------------------------------------------------ snapshots
  function onSnapshot(s) {
    lab.received++;
    if (s.run !== lab.run) {
      lab.run = s.run;
      lab.hist = emptyHistory();
    }
    if (s.chart && Object.keys(s.chart).length) {
      const h = lab.hist;
      for (const k of ["d_loss", "g_loss", "value", "d_real", "d_fake", "real_logit", "fake_logit"]) {
        h[k].push(k in s.chart ? s.chart[k] : NaN);
      }
      const m = s.metrics || {};
      h.modes.push("modes" in m ? m.modes / m.n_modes : NaN);
      h.hq.push("hq" in m ? m.hq : NaN);
      h.js.push("js" in m ? m.js : NaN);
      h.step.push(s.step);
      h.kind.push(s.heat_kind);
      if (h.step.length > MAX_HISTORY) {
        for (const k of Object.keys(h)) h[k] = h[k].filter((_, i) => i % 2 === 1);
      }
    }
    if (s.settings) syncControls(s.settings, false);
    lab.latest = s;
    if (!lab.renderQueued) {
      lab.renderQueued = true;
      requestAnimationFrame(render);
    }
  }

  function render() {
    lab.renderQueued = false;
    const s = lab.latest;
    if (!s) return;
    const now = performance.now();
    if (s.dim === 1) drawOneD(s);
    else if (s.dim === 2) drawPlane(s);
    drawDstar(s);
    drawCharts(s);
    drawValueBox(s);
    drawDiagnostics(s);
    drawStoryAndGuide(s);
    drawStatus(s, now);
    lab.frames++;
    lab.frameTimes.push(now);
    while (lab.frameTimes.length && now - lab.frameTimes[0] > 1000) lab.frameTimes.shift();
    if (s.ack !== null && s.ack !== undefined) {
      for (const [seq, t0] of lab.pending) {
        if (seq <= s.ack) {
          lab.latencies.push(now - t0);
          if (lab.latencies.length > 200) lab.latencies.shift();
          lab.pending.delete(seq);
          $("latency").textContent = `${Math.round(now - t0)} ms`;
        }
      }
    }
  }

  function drawStatus(s, now) {
    $("step").textContent = String(s.step);
    $("rate").textContent = s.rate >= 10 ? Math.round(s.rate) : fmt(s.rate, 1);
    $("fps").textContent = String(lab.frameTimes.filter((t) => now - t <= 1000).length + 1);
    $("play").classList.toggle("active", !!s.playing);
  }

  // ------------------------------------------------------------------ the plane (2D)
  const heatCanvas = document.createElement("canvas");
  function toPx(view, W, H) {
    const [x0, y0] = view.lo, [x1, y1] = view.hi;
    return [(x) => ((x - x0) / (x1 - x0)) * W, (y) => ((y1 - y) / (y1 - y0)) * H];
  }
  function normalise(values, kind) {
    if (kind === "prob") return { v: values, lo: 0, hi: 1 };
    let lo = Infinity, hi = -Infinity;
    for (const x of values) { if (x < lo) lo = x; if (x > hi) hi = x; }
    const span = hi - lo || 1;
    const out = new Float32Array(values.length);
    for (let i = 0; i < values.length; i++) out[i] = (values[i] - lo) / span;
    return { v: out, lo, hi };
  }
  function paintHeat(ctx, values, res, W, H, alpha = 1) {
    heatCanvas.width = res;
    heatCanvas.height = res;
    const hctx = heatCanvas.getContext("2d");
    const img = hctx.createImageData(res, res);
    for (let i = 0; i < res * res; i++) {
      const t = Math.max(0, Math.min(255, Math.round(values[i] * 255)));
      img.data[i * 4] = LUT[t * 3];
      img.data[i * 4 + 1] = LUT[t * 3 + 1];
      img.data[i * 4 + 2] = LUT[t * 3 + 2];
      img.data[i * 4 + 3] = 255;
    }
    hctx.putImageData(img, 0, 0);
    ctx.save();
    ctx.globalAlpha = alpha;
    ctx.imageSmoothingEnabled = true;
    ctx.drawImage(heatCanvas, 0, 0, W, H);
    ctx.restore();
  }
  function dots(ctx, pts, px, py, r, fill, stroke) {
    ctx.fillStyle = fill;
    ctx.beginPath();
    for (let i = 0; i < pts.length; i += 2) {
      const x = px(pts[i]), y = py(pts[i + 1]);
      ctx.moveTo(x + r, y);
      ctx.arc(x, y, r, 0, 2 * Math.PI);
    }
    ctx.fill();
    if (stroke) { ctx.strokeStyle = stroke; ctx.lineWidth = 0.7; ctx.stroke(); }
  }
  function arrowLength(mag, span, maxLen) {
    return maxLen * Math.tanh((mag * span) / 8);
  }
  function drawArrows(ctx, pts, arrows, px, py, span, maxLen, width, every) {
    ctx.save();
    ctx.globalAlpha = 0.8;
    ctx.strokeStyle = COLOR.arrow;
    ctx.fillStyle = COLOR.arrow;
    ctx.lineWidth = width;
    ctx.beginPath();
    const heads = [];
    for (let i = 0; i < pts.length; i += 2 * every) {
      const gx = arrows[i], gy = arrows[i + 1];
      const mag = Math.hypot(gx, gy);
      if (!(mag > 0)) continue;
      const len = arrowLength(mag, span, maxLen);
      if (len < 1) continue;
      const ux = gx / mag, uy = -gy / mag; // screen y points down
      const x = px(pts[i]), y = py(pts[i + 1]);
      const ex = x + ux * len, ey = y + uy * len;
      ctx.moveTo(x, y);
      ctx.lineTo(ex, ey);
      heads.push([ex, ey, ux, uy]);
    }
    ctx.stroke();
    ctx.beginPath();
    for (const [ex, ey, ux, uy] of heads) {
      const s = 3 + width;
      ctx.moveTo(ex, ey);
      ctx.lineTo(ex - ux * s - uy * s * 0.5, ey - uy * s + ux * s * 0.5);
      ctx.lineTo(ex - ux * s + uy * s * 0.5, ey - uy * s - ux * s * 0.5);
      ctx.closePath();
    }
    ctx.fill();
    ctx.restore();
  }
  function drawMesh(ctx, mesh, shape, px, py) {
    const [rows, cols] = shape;
    ctx.strokeStyle = COLOR.mesh;
    ctx.lineWidth = rows === 1 ? 2 : 1;
    ctx.beginPath();
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < cols; c++) {
        const k = (r * cols + c) * 2;
        if (c === 0) ctx.moveTo(px(mesh[k]), py(mesh[k + 1]));
        else ctx.lineTo(px(mesh[k]), py(mesh[k + 1]));
      }
    }
    if (rows > 1) {
      for (let c = 0; c < cols; c++) {
        for (let r = 0; r < rows; r++) {
          const k = (r * cols + c) * 2;
          if (r === 0) ctx.moveTo(px(mesh[k]), py(mesh[k + 1]));
          else ctx.lineTo(px(mesh[k]), py(mesh[k + 1]));
        }
      }
    }
    ctx.stroke();
  }
  function axesTicks(ctx, view, W, H) {
    ctx.fillStyle = "rgba(29,29,31,0.55)";
    ctx.font = "11px system-ui, sans-serif";
    ctx.textBaseline = "bottom";
    ctx.fillText(`x: ${fmt(view.lo[0], 1)} … ${fmt(view.hi[0], 1)}`, 6, H - 4);
    ctx.textAlign = "right";
    ctx.fillText(`y: ${fmt(view.lo[1], 1)} … ${fmt(view.hi[1], 1)}`, W - 6, H - 4);
    ctx.textAlign = "left";
  }
  function startHint(ctx, s, W) {
    if (s.playing || s.step !== 0 || s.d_updates !== 0 || s.guided || lab.drawing) return;
    const text = "Press ▶ Play to start training, or pick a story or the guided round on the left.";
    ctx.font = "13px system-ui, sans-serif";
    const w = ctx.measureText(text).width + 20;
    ctx.fillStyle = "rgba(255,255,255,0.92)";
    ctx.fillRect((W - w) / 2, 12, w, 28);
    ctx.strokeStyle = "#2a6f97";
    ctx.lineWidth = 1;
    ctx.strokeRect((W - w) / 2, 12, w, 28);
    ctx.fillStyle = COLOR.ink;
    ctx.textBaseline = "middle";
    ctx.fillText(text, (W - w) / 2 + 10, 26);
    ctx.textBaseline = "alphabetic";
  }

  function guideBadge(ctx, s, top = 8) {
    if (!s.guided) return;
    const text = s.guided.title;
    ctx.font = "bold 14px system-ui, sans-serif";
    const w = ctx.measureText(text).width + 16;
    ctx.fillStyle = "rgba(255,255,255,0.9)";
    ctx.fillRect(8, top, w, 26);
    ctx.strokeStyle = COLOR.fake;
    ctx.lineWidth = 2;
    ctx.strokeRect(8, top, w, 26);
    ctx.fillStyle = COLOR.ink;
    ctx.textBaseline = "middle";
    ctx.fillText(text, 16, top + 13);
    ctx.textBaseline = "alphabetic";
  }

  function drawPlane(s) {
    const canvas = $("plane");
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    const [px, py] = toPx(s.view, W, H);
    const hl = new Set(s.guided ? s.guided.highlight : []);
    ctx.fillStyle = "#fbfbfb";
    ctx.fillRect(0, 0, W, H);
    const heat = normalise(f32(s.heat), s.heat_kind);
    if (lab.layers.heat) paintHeat(ctx, heat.v, s.heat_res, W, H, 0.9);
    lab.heatRange = heat;
    const real = f32(s.real), fake = f32(s.fake);
    if (lab.layers.real) dots(ctx, real, px, py, 2, "rgba(29,29,31,0.75)");
    if (lab.layers.mesh) drawMesh(ctx, f32(s.mesh), s.mesh_shape, px, py);
    const big = hl.has("fake");
    if (lab.layers.fake) dots(ctx, fake, px, py, big ? 3.6 : 2.6, COLOR.fake, big ? "#5a2a00" : "rgba(255,255,255,0.8)");
    const span = Math.max(s.view.hi[0] - s.view.lo[0], s.view.hi[1] - s.view.lo[1]);
    if (lab.layers.arrows) drawArrows(ctx, fake, f32(s.arrows), px, py, span, 0.06 * W, hl.has("arrows") ? 1.8 : 1, 4);
    if (lab.layers.fake) offView(ctx, fake, px, py, W, H);
    if (lab.drawing || (lab.drawn.length && s.settings && s.settings.target === "drawn")) drawDrawn(ctx, px, py);
    if (hl.has("heat")) { ctx.strokeStyle = COLOR.fake; ctx.lineWidth = 6; ctx.strokeRect(3, 3, W - 6, H - 6); }
    axesTicks(ctx, s.view, W, H);
    guideBadge(ctx, s);
    startHint(ctx, s, W);
    $("plane-title").textContent = s.heat_kind === "prob"
      ? "D's decision surface D(x), real and generated samples"
      : "The critic's score D(x), real and generated samples";
    drawHeatLegend(s, heat);
  }

  function drawHeatLegend(s, heat) {
    const box = $("heat-legend");
    const words = s.heat_kind === "prob"
      ? ["D(x) = 0: “fake”", "0.5: undecided", "1: “real”"]
      : [`critic ${fmt(heat.lo, 2)}: judged fake`, "", `${fmt(heat.hi, 2)}: judged real`];
    const key = words.join("|");
    if (box.dataset.key === key) return;
    box.dataset.key = key;
    box.innerHTML = "";
    box.appendChild(el("span", {}, words[0]));
    box.appendChild(el("span", { class: "bar" }));
    box.appendChild(el("span", {}, words[2] + (words[1] ? ` (${words[1]} in the middle)` : "")));
  }

  // generated points outside the view box: a marker on the edge, pointing their way, and a count
  function offView(ctx, pts, px, py, W, H) {
    let n = 0;
    ctx.fillStyle = COLOR.fake;
    ctx.strokeStyle = "#5a2a00";
    ctx.lineWidth = 0.8;
    ctx.beginPath();
    for (let i = 0; i < pts.length; i += 2) {
      const x = px(pts[i]), y = py(pts[i + 1]);
      if (x >= 0 && x <= W && y >= 0 && y <= H) continue;
      n++;
      const cx = Math.min(W - 6, Math.max(6, x)), cy = Math.min(H - 6, Math.max(6, y));
      const a = Math.atan2(y - cy, x - cx);
      ctx.moveTo(cx + 6 * Math.cos(a), cy + 6 * Math.sin(a));
      ctx.lineTo(cx + 5 * Math.cos(a + 2.4), cy + 5 * Math.sin(a + 2.4));
      ctx.lineTo(cx + 5 * Math.cos(a - 2.4), cy + 5 * Math.sin(a - 2.4));
      ctx.closePath();
    }
    ctx.fill();
    ctx.stroke();
    if (!n) return;
    const text = `${n} of ${pts.length / 2} generated points are outside the view (marked on its edge)`;
    ctx.font = "12px system-ui, sans-serif";
    const w = ctx.measureText(text).width + 12;
    ctx.fillStyle = "rgba(255,255,255,0.88)";
    ctx.fillRect((W - w) / 2, H - 42, w, 20);
    ctx.fillStyle = COLOR.ink;
    ctx.textBaseline = "middle";
    ctx.fillText(text, (W - w) / 2 + 6, H - 32);
    ctx.textBaseline = "alphabetic";
  }

  function drawDrawn(ctx, px, py) {
    ctx.strokeStyle = COLOR.drawn;
    ctx.lineWidth = 2;
    ctx.beginPath();
    for (const [x, y] of lab.drawn) {
      const X = px(x), Y = py(y);
      ctx.moveTo(X - 4, Y - 4); ctx.lineTo(X + 4, Y + 4);
      ctx.moveTo(X - 4, Y + 4); ctx.lineTo(X + 4, Y - 4);
    }
    ctx.stroke();
    if (lab.drawing) {
      ctx.fillStyle = "rgba(42,111,151,0.92)";
      ctx.fillRect(0, 0, ctx.canvas.width, 28);
      ctx.fillStyle = "#fff";
      ctx.font = "13px system-ui, sans-serif";
      ctx.textBaseline = "middle";
      ctx.fillText(`Drawing: ${lab.drawn.length} point(s). Click or drag to add; then “Train on drawing”.`, 10, 14);
    }
  }

  function drawDstar(s) {
    const fig = $("dstar-fig");
    const show = s.dim === 2 && !!s.dstar;
    fig.hidden = !show;
    if (!show) return;
    const canvas = $("dstar");
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    const [px, py] = toPx(s.view, W, H);
    paintHeat(ctx, f32(s.dstar), s.heat_res, W, H, 0.9);
    dots(ctx, f32(s.real), px, py, 1.4, "rgba(29,29,31,0.6)");
    dots(ctx, f32(s.fake), px, py, 1.8, COLOR.fake);
  }

  // ------------------------------------------------------------------ 1D: the GAN paper's figure
  function drawOneD(s) {
    const canvas = $("plane");
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, W, H);
    const L = 40, R = W - 24, top = 46, bottom = 330, xLine = 370, zLine = 520;
    const x0 = s.view.lo[0], x1 = s.view.hi[0];
    const px = (x) => L + ((x - x0) / (x1 - x0)) * (R - L);
    const xs = f32(s.x_grid), pData = f32(s.p_data), pG = f32(s.p_g);
    const dRaw = f32(s.d_curve), dStar = f32(s.dstar_curve);
    const d = normalise(dRaw, s.heat_kind).v;
    let pMax = 0;
    for (const v of pData) pMax = Math.max(pMax, v);
    const pCap = 2.5 * pMax;
    let gMax = 0;
    for (const v of pG) gMax = Math.max(gMax, Math.min(v, pCap));
    const scaleP = 1 / Math.max(pMax, gMax, 1e-9);
    const yP = (p) => bottom - Math.min(p * scaleP, 1) * (bottom - top);
    const yD = (v) => bottom - v * (bottom - top);
    // D = 1/2 guide
    ctx.strokeStyle = COLOR.grid;
    ctx.setLineDash([4, 4]);
    ctx.beginPath(); ctx.moveTo(L, yD(0.5)); ctx.lineTo(R, yD(0.5)); ctx.stroke();
    ctx.setLineDash([]);
    ctx.fillStyle = COLOR.muted;
    ctx.font = "11px system-ui, sans-serif";
    ctx.fillText("D = ½", R - 34, yD(0.5) - 4);
    const curve = (vals, ymap, color, dash, width) => {
      ctx.strokeStyle = color;
      ctx.lineWidth = width;
      ctx.setLineDash(dash);
      ctx.beginPath();
      for (let i = 0; i < xs.length; i++) {
        const X = px(xs[i]), Y = ymap(vals[i]);
        if (i === 0) ctx.moveTo(X, Y); else ctx.lineTo(X, Y);
      }
      ctx.stroke();
      ctx.setLineDash([]);
    };
    curve(pData, yP, COLOR.pData, [2, 3], 2.2);
    curve(pG, yP, COLOR.pG, [], 2.2);
    if (lab.layers.heat) curve(d, yD, COLOR.dCurve, [7, 4], 2);
    if (s.settings && s.settings.show_dstar) curve(dStar, yD, COLOR.dStar, [3, 3], 1.6);
    // x and z lines, and z -> G(z)
    ctx.strokeStyle = COLOR.ink;
    ctx.lineWidth = 1.5;
    ctx.beginPath();
    ctx.moveTo(L, xLine); ctx.lineTo(R, xLine);
    ctx.moveTo(L, zLine); ctx.lineTo(R, zLine);
    ctx.stroke();
    ctx.fillStyle = COLOR.ink;
    ctx.font = "italic 15px Georgia, serif";
    ctx.fillText("x", R + 8, xLine + 5);
    ctx.fillText("z", R + 8, zLine + 5);
    const zs = f32(s.z_line), gz = f32(s.mesh);
    const [za, zb] = s.z_range;
    const pz = (z) => L + ((z - za) / (zb - za || 1)) * (R - L);
    if (lab.layers.mesh) {
      ctx.strokeStyle = "rgba(80,80,80,0.55)";
      ctx.lineWidth = 1;
      ctx.beginPath();
      const heads = [];
      for (let i = 0; i < zs.length; i++) {
        const X0 = pz(zs[i]), X1 = Math.max(L - 10, Math.min(R + 10, px(gz[i])));
        ctx.moveTo(X0, zLine);
        ctx.lineTo(X1, xLine + 4);
        heads.push([X0, X1]);
      }
      ctx.stroke();
      ctx.fillStyle = "rgba(80,80,80,0.8)";
      for (const [a] of heads) { ctx.beginPath(); ctx.arc(a, zLine, 2, 0, 2 * Math.PI); ctx.fill(); }
    }
    // samples as ticks on the x line
    const real = f32(s.real), fake = f32(s.fake);
    if (lab.layers.real) {
      ctx.strokeStyle = "rgba(29,29,31,0.35)";
      ctx.beginPath();
      for (let i = 0; i < real.length; i += 2) { const X = px(real[i]); ctx.moveTo(X, xLine - 9); ctx.lineTo(X, xLine - 1); }
      ctx.stroke();
    }
    if (lab.layers.fake) {
      ctx.strokeStyle = "rgba(232,113,10,0.45)";
      ctx.beginPath();
      for (let i = 0; i < fake.length; i += 2) { const X = px(fake[i]); ctx.moveTo(X, xLine + 1); ctx.lineTo(X, xLine + 9); }
      ctx.stroke();
    }
    if (lab.layers.arrows) {
      const arrows = f32(s.arrows);
      const span = x1 - x0;
      ctx.strokeStyle = COLOR.arrow;
      ctx.fillStyle = COLOR.arrow;
      ctx.lineWidth = 1.2;
      for (let i = 0; i < fake.length; i += 16) {
        const g = arrows[i];
        const len = Math.sign(g) * arrowLength(Math.abs(g), span, 36);
        if (Math.abs(len) < 1) continue;
        const X = px(fake[i]), Y = xLine + 18 + (i % 64) / 8;
        ctx.beginPath(); ctx.moveTo(X, Y); ctx.lineTo(X + len, Y); ctx.stroke();
        ctx.beginPath(); ctx.moveTo(X + len, Y); ctx.lineTo(X + len - Math.sign(len) * 5, Y - 3); ctx.lineTo(X + len - Math.sign(len) * 5, Y + 3); ctx.fill();
      }
    }
    // axis ticks
    ctx.fillStyle = COLOR.muted;
    ctx.font = "11px system-ui, sans-serif";
    ctx.textAlign = "center";
    for (let k = 0; k <= 4; k++) {
      const v = x0 + (k / 4) * (x1 - x0);
      ctx.fillText(fmt(v, 1), px(v), xLine + 44);
      const z = za + (k / 4) * (zb - za);
      ctx.fillText(fmt(z, 1), pz(z), zLine + 16);
    }
    ctx.textAlign = "left";
    // legend
    const items = [["data density p_data", COLOR.pData, [2, 3]], ["generator density p_g", COLOR.pG, []],
      [s.heat_kind === "prob" ? "D(x)" : "critic D(x) (scaled)", COLOR.dCurve, [7, 4]]];
    if (s.settings && s.settings.show_dstar) items.push(["optimal D*(x)", COLOR.dStar, [3, 3]]);
    let lx = L;
    ctx.font = "12px system-ui, sans-serif";
    for (const [label, color, dash] of items) {
      ctx.strokeStyle = color; ctx.lineWidth = 2; ctx.setLineDash(dash);
      ctx.beginPath(); ctx.moveTo(lx, 22); ctx.lineTo(lx + 22, 22); ctx.stroke(); ctx.setLineDash([]);
      ctx.fillStyle = COLOR.ink; ctx.textBaseline = "middle"; ctx.fillText(label, lx + 27, 22);
      lx += 27 + ctx.measureText(label).width + 16;
    }
    ctx.textBaseline = "alphabetic";
    ctx.fillStyle = COLOR.muted;
    ctx.fillText("noise z is mapped by G onto x", L, zLine - 10);
    guideBadge(ctx, s, 40);
    startHint(ctx, s, W);
    $("plane-title").textContent = "1D: z mapped onto x by G, the data and generator densities, and D (as in Goodfellow et al. 2014, fig. 1)";
    drawHeatLegend(s, { lo: 0, hi: 1 });
  }

  // ------------------------------------------------------------------ charts
  function lineChart(canvas, title, series, opts = {}) {
    const ctx = canvas.getContext("2d");
    const W = canvas.width, H = canvas.height;
    const L = 40, R = W - 8, T = 38, B = H - 16;
    ctx.fillStyle = "#ffffff";
    ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = COLOR.ink;
    ctx.font = "bold 12px system-ui, sans-serif";
    ctx.textBaseline = "alphabetic";
    ctx.fillText(title, 4, 13);
    // legend with the latest values
    ctx.font = "11px system-ui, sans-serif";
    let lx = 4;
    for (const s of series) {
      const last = s.values.length ? s.values[s.values.length - 1] : NaN;
      const label = `${s.label} ${s.format ? s.format(last) : fmt(last, 3)}`;
      ctx.strokeStyle = s.color; ctx.lineWidth = 2; ctx.setLineDash(s.dash || []);
      ctx.beginPath(); ctx.moveTo(lx, 23); ctx.lineTo(lx + 14, 23); ctx.stroke(); ctx.setLineDash([]);
      ctx.fillStyle = COLOR.ink; ctx.fillText(label, lx + 17, 27);
      lx += 17 + ctx.measureText(label).width + 10;
    }
    let lo = Infinity, hi = -Infinity, n = 0;
    for (const s of series) for (const v of s.values) if (isFinite(v)) { lo = Math.min(lo, v); hi = Math.max(hi, v); n = Math.max(n, s.values.length); }
    for (const r of opts.refs || []) { lo = Math.min(lo, r.y); hi = Math.max(hi, r.y); }
    if (opts.ylim) [lo, hi] = opts.ylim;
    if (!isFinite(lo)) {
      ctx.fillStyle = COLOR.muted;
      ctx.fillText(opts.empty || "waiting for training…", L, (T + B) / 2);
      return;
    }
    if (hi - lo < 1e-6) { hi += 0.5; lo -= 0.5; }
    const pad = opts.ylim ? 0 : 0.06 * (hi - lo);
    lo -= pad; hi += pad;
    const X = (i) => L + (n > 1 ? (i / (n - 1)) * (R - L) : 0);
    const Y = (v) => B - ((v - lo) / (hi - lo)) * (B - T);
    ctx.strokeStyle = COLOR.grid;
    ctx.lineWidth = 1;
    ctx.strokeRect(L, T, R - L, B - T);
    ctx.fillStyle = COLOR.muted;
    ctx.textAlign = "right";
    for (const v of [lo, (lo + hi) / 2, hi]) ctx.fillText(fmt(v, Math.abs(hi - lo) < 0.1 ? 3 : 2), L - 3, Y(v) + 4);
    ctx.textAlign = "left";
    if (opts.steps && opts.steps.length) {
      ctx.fillText(`round ${opts.steps[0]}`, L, H - 3);
      ctx.textAlign = "right";
      ctx.fillText(`round ${opts.steps[opts.steps.length - 1]}`, R, H - 3);
      ctx.textAlign = "left";
    }
    for (const r of opts.refs || []) {
      ctx.strokeStyle = r.color || "#999";
      ctx.setLineDash([5, 4]);
      ctx.beginPath(); ctx.moveTo(L, Y(r.y)); ctx.lineTo(R, Y(r.y)); ctx.stroke();
      ctx.setLineDash([]);
      ctx.fillStyle = r.color || "#999";
      ctx.textAlign = "right";
      ctx.fillText(r.label, R - 4, Y(r.y) + (Y(r.y) - T < 14 ? 12 : -3));
      ctx.textAlign = "left";
    }
    for (const s of series) {
      ctx.strokeStyle = s.color;
      ctx.lineWidth = 1.6;
      ctx.setLineDash(s.dash || []);
      ctx.beginPath();
      let started = false;
      s.values.forEach((v, i) => {
        if (!isFinite(v)) { started = false; return; }
        const x = X(i), y = Y(Math.max(lo, Math.min(hi, v)));
        if (!started) { ctx.moveTo(x, y); started = true; } else ctx.lineTo(x, y);
      });
      ctx.stroke();
      ctx.setLineDash([]);
    }
  }

  function drawCharts(s) {
    const h = lab.hist;
    lineChart($("chart-loss"), "Losses", [
      { label: "D loss", values: h.d_loss, color: COLOR.dFake },
      { label: "G loss", values: h.g_loss, color: COLOR.fake },
    ], { steps: h.step });
    if (s.heat_kind === "prob") {
      lineChart($("chart-d"), "What D says (mean over the batch)", [
        { label: "D(x) on real", values: h.d_real, color: COLOR.dReal },
        { label: "D(G(z)) on fake", values: h.d_fake, color: COLOR.fake },
      ], { ylim: [0, 1], refs: [{ y: 0.5, label: "0.5: D cannot tell", color: "#888" }], steps: h.step });
    } else {
      lineChart($("chart-d"), "The critic's mean score", [
        { label: "on real", values: h.real_logit, color: COLOR.dReal },
        { label: "on fake", values: h.fake_logit, color: COLOR.fake },
      ], { steps: h.step });
    }
    const m = s.metrics || {};
    if ("modes" in m) {
      lineChart($("chart-modes"), "Modes captured and sample quality", [
        { label: "modes", values: h.modes, color: COLOR.dReal, format: () => `${m.modes}/${m.n_modes}` },
        { label: "HQ", values: h.hq, color: COLOR.fake, format: (v) => `${fmt(100 * v, 0)}%` },
      ], { ylim: [0, 1], steps: h.step });
    } else {
      lineChart($("chart-modes"), "Modes captured and sample quality", [], {
        empty: "this target has no separate modes to count",
      });
    }
    lineChart($("chart-js"), "Jensen–Shannon divergence estimate (nats)", [
      { label: "JS(p_data ‖ p_g)", values: h.js, color: COLOR.dCurve },
    ], { ylim: [0, Math.LN2 * 1.02], refs: [{ y: Math.LN2, label: "log 2: no overlap", color: "#b3261e" }], steps: h.step });
  }

  // ------------------------------------------------------------------ value function, diagnostics
  function drawValueBox(s) {
    if (!s.terms) return;
    const t = s.terms;
    const box = $("value-box");
    const probNote = s.family === "minimax" ? ""
      : `<div class="note">The ${s.objective} objective trains D as a ${s.heat_kind === "prob" ? "regressor" : "critic"}; here its output is read as a probability through a sigmoid to show the original game's value.</div>`;
    box.innerHTML = `<h2>The value function</h2>` +
      `<div class="eq">V(D, G) = 𝔼<sub>x</sub>[log D(x)] + 𝔼<sub>z</sub>[log(1 − D(G(z)))]</div>` +
      `<div class="eq">= <span class="term" title="mean log D(x) on real samples">${fmtSigned(t.log_d_real)}</span> + ` +
      `<span class="term" title="mean log(1 − D(G(z))) on generated samples">${fmtSigned(t.log_one_minus_d_fake)}</span> = ` +
      `<span class="total">${fmtSigned(t.value)}</span></div>` +
      `<div>At equilibrium D = ½ everywhere and V = −log 4 = <b>${fmtSigned(t.equilibrium)}</b>; ` +
      `now ${fmt(Math.abs(t.value - t.equilibrium), 3)} away.</div>` + probNote;
  }

  // Who can tell real from fake, as accuracies on held-out points (50% = nobody can): the game's D,
  // the optimal D* against this G, and a fresh classifier (C2ST), refreshed with the slower numbers.
  function drawReadings(m) {
    if (!m.c2st) return "";
    const pct = (v) => (v === null || v === undefined ? "n/a" : `${fmt(100 * v, 0)}%`);
    const c = m.c2st;
    const dText = m.acc_d === null || m.acc_d === undefined ? "n/a (a critic has no ½)" : pct(m.acc_d);
    const matched = m.acc_d !== null && m.acc_d !== undefined && Math.abs(m.acc_d - 0.5) < 0.1 && c.ci_low >= 0.7 && c.p_value < 1e-3;
    return `<div class="readings" id="readings">Who can tell real from fake (50% = nobody): ` +
      `the game's D <b>${dText}</b> · the optimal D* <b>${pct(m.acc_dstar)}</b> · ` +
      `a fresh classifier <b>${pct(c.accuracy)}</b> <span class="try">(95% interval ${pct(c.ci_low)}–${pct(c.ci_high)})</span>` +
      (matched ? `<div class="note">D is near ½ but a fresh classifier still separates: D is matched to G, not beaten by it.</div>` : "") +
      `</div>`;
  }

  function drawDiagnostics(s) {
    const eq = $("equilibrium");
    const d = s.equilibrium;
    let text, pos;
    if (d === null || d === undefined) {
      text = "Equilibrium indicator: waiting for training rounds.";
      pos = null;
    } else if (s.family === "minimax") {
      const word = d < 0.1 ? "at equilibrium" : d < 0.3 ? "near equilibrium" : d < 0.7 ? "D is winning" : "D separates real from fake";
      text = `Equilibrium indicator: <b>${word}</b> (distance ${fmt(d, 2)}: 0 = D answers ½ everywhere and V = −log 4, 1 = D is perfect). ` +
        `It reads D's outputs only: compare the fresh classifier below.`;
      pos = Math.min(d / 1.2, 1);
    } else if (s.family === "wasserstein") {
      text = `Equilibrium indicator: the critic's estimate of the distance between data and G is <b>${fmt(d, 3)}</b> (0 at equilibrium)`;
      lab.wMax = Math.max(lab.wMax || 0, d);
      pos = Math.min(d / (lab.wMax || 1), 1);
    } else {
      text = `Equilibrium indicator: D's accuracy is <b>${fmt(50 + 50 * d, 0)}%</b> (50% = cannot tell, equilibrium)`;
      pos = Math.min(d, 1);
    }
    eq.innerHTML = `<div>${text}</div>` + (pos === null ? "" : `<div class="meter"><span class="needle" style="left: calc(${(100 * pos).toFixed(1)}% - 1px)"></span></div>`) +
      drawReadings(s.metrics || {});
    const list = $("alerts");
    const alerts = (s.alerts || []).slice().reverse();
    const key = alerts.map((a) => a.name + a.step).join(",");
    if (list.dataset.key === key) return;
    list.dataset.key = key;
    list.innerHTML = "";
    if (!alerts.length) list.appendChild(el("li", { class: "quiet" }, "No alerts yet: the diagnostics watch the last 100 rounds."));
    const explained = new Map();
    for (const a of alerts) {
      const li = el("li", { class: a.severity });
      li.appendChild(el("b", {}, `${a.name} `));
      li.appendChild(el("span", { class: "try" }, `(round ${a.step}) `));
      li.appendChild(el("span", {}, a.message));
      li.appendChild(el("div", { class: "try" }, `Try: ${a.suggestion}`));
      list.appendChild(li);
      if (a.explanation && !explained.has(a.explanation.key) && s.step - a.step < 1500) explained.set(a.explanation.key, a.explanation);
    }
    if (explained.has("collapse") && explained.has("equilibrium")) {
      // balanced outputs of D do not mean G matches the data: say so instead of praising equilibrium
      explained.set("equilibrium", {
        key: "equilibrium", title: "Balanced, but not at the real equilibrium",
        text: "D answers about ½ on real and fake alike, which is what equilibrium looks like from D's side. " +
          "But G has collapsed: D simply cannot tell the few spots G covers from the data. At the true equilibrium " +
          "G's distribution equals the data's; the modes chart shows it does not.",
      });
    }
    const ex = $("explanations");
    ex.innerHTML = "";
    for (const e of explained.values()) {
      const box = el("div", { class: "explain" });
      box.appendChild(el("b", {}, e.title));
      box.appendChild(el("span", {}, e.text));
      ex.appendChild(box);
    }
  }

  function drawStoryAndGuide(s) {
    const story = $("story");
    if (s.story) {
      const key = s.story.name + s.run;
      if (story.dataset.key !== key) {
        story.dataset.key = key;
        story.innerHTML = "";
        story.appendChild(el("h3", {}, `Story: ${s.story.title}`));
        story.appendChild(el("p", {}, s.story.summary));
        story.appendChild(el("p", {}, s.story.watch));
      }
      story.hidden = false;
    } else story.hidden = true;
    const g = $("guided");
    if (s.guided) {
      const key = `${s.guided.index}|${s.guided.fast}|${s.step}|${s.d_updates}`;
      if (g.dataset.key !== key) {
        g.dataset.key = key;
        g.innerHTML = "";
        g.appendChild(el("div", { class: "progress" }, `Guided round: step ${s.guided.index + 1} of ${s.guided.count}${s.guided.fast ? " (fast motion)" : ""}`));
        g.appendChild(el("h3", {}, s.guided.title));
        g.appendChild(el("p", {}, s.guided.text));
        g.appendChild(el("p", { class: "changed" }, `On screen: ${s.guided.changed}`));
        if (s.guided.note) g.appendChild(el("p", { class: "progress" }, s.guided.note));
        if (s.guided.highlight.includes("d-chart")) flash($("chart-d").parentElement);
        flash(g);
      }
      g.hidden = false;
    } else g.hidden = true;
  }
  function flash(node) {
    node.classList.remove("highlight");
    void node.offsetWidth; // restart the animation
    node.classList.add("highlight");
  }

  // ------------------------------------------------------------------ controls
  function readValue(input) {
    if (input.type === "checkbox") return input.checked;
    if (input.tagName === "SELECT") return input.value;
    const text = input.value.trim();
    if (/^[-+]?(\d+\.?\d*|\.\d+)([eE][-+]?\d+)?$/.test(text)) return Number(text);
    return text; // not a number: sent as typed, the server explains what it expects
  }
  for (const input of document.querySelectorAll("[data-key]")) {
    input.addEventListener("change", () => {
      const key = input.dataset.key;
      if (key === "target" && input.value === "drawn") {
        if (lab.drawn.length) sendDrawing(); else setDrawing(true);
        return;
      }
      input.classList.remove("invalid");
      input.title = "";
      send({ type: "set", settings: { [key]: readValue(input) } });
    });
  }
  for (const id of ["play", "pause", "step_d", "step_g", "step_round", "reset"]) {
    $(id).addEventListener("click", () => send({ type: "control", action: id }));
  }
  const speedLabel = (pos) => (SPEEDS[pos] === 0 ? "max" : `${SPEEDS[pos]}/s`);
  $("speed").addEventListener("input", () => { $("speed-label").textContent = speedLabel(Number($("speed").value)); });
  $("speed").addEventListener("change", () => send({ type: "set", settings: { speed: SPEEDS[Number($("speed").value)] } }));
  $("guided-start").addEventListener("click", () => send({ type: "guided", action: "start" }));
  $("guided-next").addEventListener("click", () => send({ type: "guided", action: "next" }));
  $("guided-fast").addEventListener("click", () => send({ type: "guided", action: "fast" }));
  $("guided-stop").addEventListener("click", () => send({ type: "guided", action: "stop" }));
  for (const box of document.querySelectorAll("[data-layer]")) {
    box.addEventListener("change", () => {
      lab.layers[box.dataset.layer] = box.checked;
      if (lab.latest) requestAnimationFrame(render);
    });
  }

  // drawing a target with the mouse
  function setDrawing(on) {
    if (on && lab.latest && lab.latest.dim !== 2) {
      showError("drawing needs a 2D view: pick a 2D target first");
      return;
    }
    lab.drawing = on;
    $("plane").classList.toggle("drawing", on);
    $("draw-toggle").classList.toggle("active", on);
    $("draw-hint").hidden = !on;
    $("draw-train").disabled = !lab.drawn.length;
    $("draw-clear").disabled = !lab.drawn.length;
    if (lab.latest) requestAnimationFrame(render);
  }
  function sendDrawing() {
    if (!lab.drawn.length) { showError("draw at least one point first"); return; }
    const std = readValue($("draw-std"));
    send({ type: "draw", points: lab.drawn.map(([x, y]) => [x, y]), std });
    setDrawing(false);
  }
  function eventToData(ev) {
    const canvas = $("plane");
    const rect = canvas.getBoundingClientRect();
    const v = lab.latest.view;
    const fx = (ev.clientX - rect.left) / rect.width, fy = (ev.clientY - rect.top) / rect.height;
    return [v.lo[0] + fx * (v.hi[0] - v.lo[0]), v.hi[1] - fy * (v.hi[1] - v.lo[1])];
  }
  let pressing = false, lastPx = null;
  function addPoint(ev) {
    const max = lab.hello ? lab.hello.max_points : 512;
    if (lab.drawn.length >= max) { showError(`at most ${max} points`); return; }
    const here = [ev.clientX, ev.clientY];
    if (lastPx && Math.hypot(here[0] - lastPx[0], here[1] - lastPx[1]) < 7) return;
    lastPx = here;
    const [x, y] = eventToData(ev);
    lab.drawn.push([Math.round(x * 1e4) / 1e4, Math.round(y * 1e4) / 1e4]);
    $("draw-train").disabled = false;
    $("draw-clear").disabled = false;
    requestAnimationFrame(render);
  }
  $("plane").addEventListener("mousedown", (ev) => { if (!lab.drawing || !lab.latest) return; pressing = true; lastPx = null; addPoint(ev); });
  $("plane").addEventListener("mousemove", (ev) => { if (pressing && lab.drawing) addPoint(ev); });
  window.addEventListener("mouseup", () => { pressing = false; });
  $("draw-toggle").addEventListener("click", () => setDrawing(!lab.drawing));
  $("draw-train").addEventListener("click", sendDrawing);
  $("draw-clear").addEventListener("click", () => { lab.drawn = []; setDrawing(lab.drawing); });

  // experiments
  function onExperiments(names) {
    lab.experiments = names;
    const sel = $("exp-list");
    sel.innerHTML = "";
    if (!names.length) sel.appendChild(el("option", { value: "" }, "(none yet)"));
    for (const n of names) sel.appendChild(el("option", { value: n }, n));
  }
  $("save").addEventListener("click", () => send({ type: "save", name: $("exp-name").value.trim() }));
  $("load").addEventListener("click", () => {
    const name = $("exp-list").value;
    if (!name) { showError("no saved experiment selected"); return; }
    send({ type: "load", name });
  });
  $("refresh").addEventListener("click", () => send({ type: "list" }));

  // export the current view as a PNG (the main view, D* when shown, and the charts)
  $("export").addEventListener("click", () => {
    const parts = [$("plane")];
    if (!$("dstar-fig").hidden) parts.push($("dstar"));
    const charts = ["chart-loss", "chart-d", "chart-modes", "chart-js"].map($);
    const chartW = charts[0].width, chartH = charts.reduce((a, c) => a + c.height, 0);
    const W = parts.reduce((a, c) => a + c.width + 10, 0) + chartW;
    const H = Math.max($("plane").height, chartH) + 30;
    const out = document.createElement("canvas");
    out.width = W; out.height = H;
    const ctx = out.getContext("2d");
    ctx.fillStyle = "#fff"; ctx.fillRect(0, 0, W, H);
    ctx.fillStyle = COLOR.ink; ctx.font = "14px system-ui, sans-serif";
    const s = lab.latest || {};
    ctx.fillText(`ganforge lab · ${s.objective || ""} · round ${s.step || 0}`, 8, 19);
    let x = 0;
    for (const c of parts) { ctx.drawImage(c, x, 30); x += c.width + 10; }
    let y = 30;
    for (const c of charts) { ctx.drawImage(c, x, y); y += c.height; }
    const a = document.createElement("a");
    a.href = out.toDataURL("image/png");
    a.download = `ganforge-lab-round-${s.step || 0}.png`;
    document.body.appendChild(a);
    a.click();
    a.remove();
  });

  connect();
})();
