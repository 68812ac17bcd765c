// seisfuse's viewer: written for seisfuse, no framework and no network. The page embeds the
// metadata (JSON) and the decimated volumes (base64: amplitude int16, layers uint8) in C order
// (inline, crossline, sample). Panels: the inline (crossline x time), the crossline (inline x
// time) and the slice (crossline x inline, inlines upwards), each with its axes in the
// survey's numbers, the layers over the amplitude, dead traces hatched grey. In label mode
// (`seisfuse view --label VAR`) labeler.js follows in the same script and uses OVERLAYS,
// READOUTS, cellAt and drawCells.
"use strict";
const M = JSON.parse(document.getElementById("meta").textContent);
const [NI, NJ, NK] = M.shape;
const MARGIN = { left: 58, right: 10, top: 8, bottom: 40 };
const PANEL_WIDTH = 520;

function decode(id, Type) {
  const text = document.getElementById("blob-" + id).textContent;
  const raw = atob(text);
  const bytes = new Uint8Array(raw.length);
  for (let i = 0; i < raw.length; i++) bytes[i] = raw.charCodeAt(i);
  return new Type(bytes.buffer);
}

const AMP = decode("amplitude", Int16Array);
const LAYERS = M.layers.map((m) => ({ ...m, codes: decode(m.name, Uint8Array), on: true, opacity: M.opacity }));
const state = { inline: Math.floor(NI / 2), crossline: Math.floor(NJ / 2), sample: Math.floor(NK / 2) };
const OVERLAYS = [];  // functions (panel kind, c, r, rgb) drawing over a panel cell (the brush's paint)
const READOUTS = [];  // functions (panel kind, c, r) -> more readout text, or ""

function amplitude(i, j, k) {
  const q = AMP[(i * NJ + j) * NK + k];
  if (q === -32768) return NaN;
  return M.amp.lo + (q + 32767) * (M.amp.hi - M.amp.lo) / M.amp.levels;
}

function layerValue(layer, i, j, k) {
  const c = layer.codes[(i * NJ + j) * NK + k];
  if (layer.kind === "binary" || layer.kind === "classes") return c;
  return layer.lo + c * (layer.hi - layer.lo) / 255;
}

function fmt(v) {
  if (typeof v === "string") return v;
  if (Number.isNaN(v)) return "NaN";
  if (Number.isInteger(v)) return String(v);
  return Math.abs(v) >= 1000 || Math.abs(v) < 0.01 ? v.toPrecision(4) : v.toFixed(4);
}

// which (i, j, k) a panel pixel (column c, row r) shows
const SAMPLE_AXIS = M.unit ? `${M.domain} (${M.unit})` : M.domain;
const PANELS = {
  inline: { cols: () => NJ, rows: () => NK, at: (c, r) => [state.inline, c, r],
            x: M.crossline, y: M.sample, xName: M.x_name, yName: SAMPLE_AXIS, yUp: false },
  crossline: { cols: () => NI, rows: () => NK, at: (c, r) => [c, state.crossline, r],
               x: M.inline, y: M.sample, xName: "inline", yName: SAMPLE_AXIS, yUp: false },
  sample: { cols: () => NJ, rows: () => NI, at: (c, r) => [NI - 1 - r, c, state.sample],
            x: M.crossline, y: M.inline.slice().reverse(), xName: "crossline", yName: "inline", yUp: true },
};

function title(kind) {
  if (kind === "inline" && M.images) return `image ${M.images[state.inline]}`;
  if (kind === "inline") return M.two_d ? "line" : `inline ${M.inline[state.inline]}`;
  if (kind === "crossline") return `crossline ${M.crossline[state.crossline]}`;
  return `${M.domain} slice ${fmt(M.sample[state.sample])} ${M.unit}`;
}

function colour(v) {  // amplitude -> [r, g, b] through the LUT over [-clip, clip]
  const t = Math.max(0, Math.min(1, (v / M.amp.clip + 1) / 2));
  return M.amp.lut[Math.round(t * (M.amp.lut.length - 1))];
}

function blend(rgb, over, alpha) {
  for (let n = 0; n < 3; n++) rgb[n] = rgb[n] * (1 - alpha) + over[n] * alpha;
}

const BINARY = [[255, 45, 45], [0, 229, 255], [255, 212, 0], [124, 255, 0], [255, 0, 255]];

function pixel(i, j, k, c, r) {
  const a = amplitude(i, j, k);
  const rgb = Number.isNaN(a) ? [154, 154, 154] : colour(a).slice();
  LAYERS.forEach((layer, n) => {
    if (!layer.on) return;
    const v = layerValue(layer, i, j, k);
    if (v === layer.unlabelled) return;  // an unlabelled voxel of a label: transparent
    if (layer.kind === "binary") { if (v >= 0.5) blend(rgb, BINARY[n % BINARY.length], layer.opacity); }
    else if (layer.kind === "classes") blend(rgb, M.luts.classes[v % 10], layer.opacity);
    else {
      const t = (v - layer.lo) / Math.max(layer.hi - layer.lo, 1e-30);
      const lut = M.luts[layer.kind];
      blend(rgb, lut[Math.round(Math.max(0, Math.min(1, t)) * 255)],
            layer.kind === "probability" ? layer.opacity * t : layer.opacity);
    }
  });
  if (M.dead[i][j] && (c + r) % 6 < 3) { rgb[0] = 150; rgb[1] = 150; rgb[2] = 150; }
  else if (M.dead[i][j]) { rgb[0] = 200; rgb[1] = 200; rgb[2] = 200; }
  return rgb;
}

function niceTicks(lo, hi, count) {
  const span = Math.abs(hi - lo) || 1;
  const raw = span / count;
  const mag = Math.pow(10, Math.floor(Math.log10(raw)));
  const step = [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw) || raw;
  const ticks = [];
  const [a, b] = lo < hi ? [lo, hi] : [hi, lo];
  for (let t = Math.ceil(a / step) * step; t <= b + 1e-9; t += step) ticks.push(+t.toPrecision(12));
  return ticks;
}

function axisPosition(values, v) {  // fractional index of coordinate v on a regular axis
  if (values.length < 2) return 0;
  return (v - values[0]) / (values[1] - values[0]);
}

function cellColour(kind, c, r) {
  const [i, j, k] = PANELS[kind].at(c, r);
  const rgb = pixel(i, j, k, c, r);
  for (const overlay of OVERLAYS) overlay(kind, c, r, rgb);
  return rgb;
}

function drawCells(kind, cells) {  // redraw a few cells of a drawn panel, [[c, r], ...]
  const p = PANELS[kind], ctx = p.canvas.getContext("2d");
  const x = (c) => Math.round(MARGIN.left + c * p.width / p.cols());
  const y = (r) => Math.round(MARGIN.top + r * p.height / p.rows());
  for (const [c, r] of cells) {
    const rgb = cellColour(kind, c, r);
    ctx.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
    ctx.fillRect(x(c), y(r), x(c + 1) - x(c), y(r + 1) - y(r));
  }
}

function draw(kind) {
  const p = PANELS[kind];
  const cols = p.cols(), rows = p.rows();
  const image = new ImageData(cols, rows);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < cols; c++) {
      const rgb = cellColour(kind, c, r);
      const o = (r * cols + c) * 4;
      image.data[o] = rgb[0]; image.data[o + 1] = rgb[1]; image.data[o + 2] = rgb[2]; image.data[o + 3] = 255;
    }
  }
  const off = document.createElement("canvas");
  off.width = cols; off.height = rows;
  off.getContext("2d").putImageData(image, 0, 0);
  const canvas = p.canvas, ctx = canvas.getContext("2d");
  ctx.clearRect(0, 0, canvas.width, canvas.height);
  ctx.imageSmoothingEnabled = false;
  ctx.drawImage(off, MARGIN.left, MARGIN.top, p.width, p.height);
  ctx.strokeStyle = "#333"; ctx.strokeRect(MARGIN.left, MARGIN.top, p.width, p.height);
  ctx.fillStyle = "#222"; ctx.font = "11px sans-serif";
  ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of niceTicks(p.x[0], p.x[p.x.length - 1], 6)) {
    const x = MARGIN.left + (axisPosition(p.x, t) + 0.5) / cols * p.width;
    ctx.fillRect(x, MARGIN.top + p.height, 1, 4);
    ctx.fillText(String(t), x, MARGIN.top + p.height + 6);
  }
  ctx.fillText(p.xName, MARGIN.left + p.width / 2, MARGIN.top + p.height + 22);
  ctx.textAlign = "right"; ctx.textBaseline = "middle";
  for (const t of niceTicks(p.y[0], p.y[p.y.length - 1], 6)) {
    const y = MARGIN.top + (axisPosition(p.y, t) + 0.5) / rows * p.height;
    ctx.fillRect(MARGIN.left - 4, y, 4, 1);
    ctx.fillText(String(t), MARGIN.left - 6, y);
  }
  ctx.save(); ctx.translate(12, MARGIN.top + p.height / 2); ctx.rotate(-Math.PI / 2);
  ctx.textAlign = "center"; ctx.fillText(p.yName, 0, 0); ctx.restore();
  document.getElementById("title-" + kind).textContent = title(kind);
}

function drawAll() { for (const kind of visible()) draw(kind); }

function visible() { return M.two_d || M.images ? ["inline"] : ["inline", "crossline", "sample"]; }

function cellAt(kind, event) {  // the panel cell [c, r] under the mouse, or null outside the image
  const p = PANELS[kind];
  const c = Math.floor((event.offsetX - MARGIN.left) / p.width * p.cols());
  const r = Math.floor((event.offsetY - MARGIN.top) / p.height * p.rows());
  return c < 0 || r < 0 || c >= p.cols() || r >= p.rows() ? null : [c, r];
}

function readout(kind, event) {
  const p = PANELS[kind];
  const cell = cellAt(kind, event);
  const out = document.getElementById("readout");
  if (!cell) { out.textContent = ""; return; }
  const [c, r] = cell;
  const [i, j, k] = p.at(c, r);
  const parts = [M.images ? `image ${M.images[i]} · column ${j * M.step}` :
                 M.two_d ? `trace ${M.crossline[j]}` : `inline ${M.inline[i]}`,
                 ...(M.two_d || M.images ? [] : [`crossline ${M.crossline[j]}`]),
                 `${fmt(M.sample[k])} ${M.unit}`, `amplitude ${fmt(amplitude(i, j, k))}`];
  for (const layer of LAYERS) {
    const v = layerValue(layer, i, j, k);
    parts.push(`${layer.name} ${v === layer.unlabelled ? "unlabelled" : fmt(v)}`);
  }
  if (M.dead[i][j]) parts.push("(missing or dead trace)");
  for (const more of READOUTS) { const text = more(kind, c, r); if (text) parts.push(text); }
  out.textContent = parts.join(" · ");
  out.dataset.index = JSON.stringify([i, j, k]);
}

function slider(kind, values, label) {
  const box = document.getElementById("sliders");
  const wrap = document.createElement("label");
  const input = document.createElement("input");
  input.type = "range"; input.min = 0; input.max = values.length - 1; input.value = state[kind];
  input.id = "slider-" + kind;
  const text = document.createElement("span");
  text.id = "label-" + kind;
  const show = () => { text.textContent = `${label} ${fmt(values[state[kind]])}${kind === "sample" ? " " + M.unit : ""}`; };
  input.addEventListener("input", () => { state[kind] = +input.value; show(); drawAll(); });
  show();
  wrap.append(input, " ", text);
  box.append(wrap);
}

function layerControls() {
  const box = document.getElementById("layers");
  LAYERS.forEach((layer, n) => {
    const wrap = document.createElement("label");
    const on = document.createElement("input");
    on.type = "checkbox"; on.checked = true; on.id = "toggle-" + layer.name;
    on.addEventListener("change", () => { layer.on = on.checked; drawAll(); });
    const alpha = document.createElement("input");
    alpha.type = "range"; alpha.min = 0; alpha.max = 100; alpha.value = Math.round(layer.opacity * 100);
    alpha.id = "opacity-" + layer.name;
    alpha.addEventListener("input", () => { layer.opacity = alpha.value / 100; drawAll(); });
    const legend = document.createElement("span");
    legend.className = "legend";
    if (layer.kind === "binary") legend.innerHTML = `<span style="background:rgb(${BINARY[n % BINARY.length]})"></span>`;
    if (layer.kind === "classes") {
      legend.innerHTML = layer.class_names.map((name, k) =>
        `<span style="background:rgb(${M.luts.classes[k % 10]})"></span>${name}`).join("");
    }
    if (layer.kind === "probability" || layer.kind === "continuous") {
      legend.textContent = ` ${fmt(layer.lo)}..${fmt(layer.hi)} (${layer.kind === "probability" ? "inferno" : "viridis"})`;
    }
    wrap.append(on, ` ${layer.name} (${layer.kind}) opacity `, alpha, legend);
    box.append(wrap);
  });
}

function colorbar() {
  const canvas = document.getElementById("colorbar"), ctx = canvas.getContext("2d");
  const x0 = 30, w = canvas.width - 60;
  for (let x = 0; x < w; x++) {
    const rgb = colour((x / (w - 1) * 2 - 1) * M.amp.clip);
    ctx.fillStyle = `rgb(${rgb[0]},${rgb[1]},${rgb[2]})`;
    ctx.fillRect(x0 + x, 4, 1, 14);
  }
  ctx.strokeStyle = "#333"; ctx.strokeRect(x0, 4, w, 14);
  ctx.fillStyle = "#222"; ctx.font = "11px sans-serif"; ctx.textAlign = "center"; ctx.textBaseline = "top";
  for (const t of [-1, -0.5, 0, 0.5, 1]) ctx.fillText(String(+(t * M.amp.clip).toPrecision(3)), x0 + (t + 1) / 2 * w, 21);
  ctx.fillText(`amplitude (symmetric clip at p${M.amp.clip_percentile}, ${M.amp.clip_source})`, x0 + w / 2, 33);
}

function ordinal(n) {
  const tail = n % 100 >= 11 && n % 100 <= 13 ? "th" : ({ 1: "st", 2: "nd", 3: "rd" })[n % 10] || "th";
  return `${n}${tail}`;
}

function setup() {
  const full = M.full_shape;
  document.getElementById("note").textContent =
    `${full.join(" x ")} voxels` + (M.step > 1 ? `, shown at every ${ordinal(M.step)} inline, crossline and sample ` +
    `(${M.shape.join(" x ")}) to fit the file budget` : ", shown at full resolution") +
    "; true scale at 1 ms = 1 m, exaggerated only to keep each panel within 1:5..5:1.";
  if (M.images) slider("inline", M.images, "image");
  else if (!M.two_d) slider("inline", M.inline, "inline");
  if (!M.two_d && !M.images) slider("crossline", M.crossline, "crossline");
  slider("sample", M.sample, M.domain);
  layerControls();
  const box = document.getElementById("panels");
  for (const kind of visible()) {
    const p = PANELS[kind];
    p.width = PANEL_WIDTH;
    p.height = Math.max(60, Math.round(PANEL_WIDTH * M.panel_ratio[kind]));
    const div = document.createElement("div");
    div.className = "panel";
    const h = document.createElement("h2");
    h.id = "title-" + kind;
    const canvas = document.createElement("canvas");
    canvas.id = "panel-" + kind;
    canvas.width = MARGIN.left + p.width + MARGIN.right;
    canvas.height = MARGIN.top + p.height + MARGIN.bottom;
    canvas.addEventListener("mousemove", (e) => readout(kind, e));
    p.canvas = canvas;
    div.append(h, canvas);
    box.append(div);
  }
  colorbar();
  drawAll();
  document.body.dataset.ready = "1";
}

setup();
