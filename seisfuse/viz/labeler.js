// seisfuse's brush (`seisfuse view --label VAR`), appended to viewer.js in the same strict
// script: pick a class, paint or erase on the inline and crossline panels, undo stroke by
// stroke, and Save: one stored ZIP (written here, no library) of one 8-bit grey PNG per
// painted line at the line's full resolution (value = class, 255 = not painted) and a
// labels.json, the format `seisfuse labels import` reads (described in seisfuse/viz/labels.py).
// The paint lives in the page, at the shown (decimated) resolution, one array per line.
const LB = M.label;
const NOT_PAINTED = 255;
const PAINT_ALPHA = 0.75;
const UNDO_LEVELS = 100;
const brush = { cls: 0, size: 1, erase: false };
const paintedLines = new Map();  // "inline:i" or "crossline:j" (shown index) -> Uint8Array [c * rows + r]
const undoStack = [];  // strokes: Map(line key -> Map(cell index -> value before the stroke))
let stroke = null, lastCell = null, unsaved = false;

function lineKey(kind) { return kind === "inline" ? `inline:${state.inline}` : `crossline:${state.crossline}`; }

function lineCells(key, create) {
  let line = paintedLines.get(key);
  if (!line && create) {
    const kind = key.split(":")[0];
    line = new Uint8Array(PANELS[kind].cols() * PANELS[kind].rows()).fill(NOT_PAINTED);
    paintedLines.set(key, line);
  }
  return line;
}

function paintedAt(kind, c, r) {
  if (kind === "sample") return NOT_PAINTED;
  const line = paintedLines.get(lineKey(kind));
  return line ? line[c * PANELS[kind].rows() + r] : NOT_PAINTED;
}

OVERLAYS.push((kind, c, r, rgb) => {
  const v = paintedAt(kind, c, r);
  if (v !== NOT_PAINTED) blend(rgb, M.luts.classes[v % 10], PAINT_ALPHA);
});
READOUTS.push((kind, c, r) => {
  const v = paintedAt(kind, c, r);
  return v === NOT_PAINTED ? "" : `painted ${LB.class_names[v]}`;
});

function dab(kind, c0, r0) {  // the brush (a disc of `size` cells across) at one cell
  const p = PANELS[kind], cols = p.cols(), rows = p.rows();
  const key = lineKey(kind), line = lineCells(key, true);
  const value = brush.erase ? NOT_PAINTED : brush.cls;
  const reach = Math.floor((brush.size - 1) / 2), changed = [];
  if (!stroke.has(key)) stroke.set(key, new Map());
  const before = stroke.get(key);
  for (let dc = -reach; dc <= reach; dc++) {
    for (let dr = -reach; dr <= reach; dr++) {
      const c = c0 + dc, r = r0 + dr, n = c * rows + r;
      if (c < 0 || r < 0 || c >= cols || r >= rows || dc * dc + dr * dr > brush.size * brush.size / 4) continue;
      if (line[n] === value) continue;
      if (!before.has(n)) before.set(n, line[n]);
      line[n] = value;
      changed.push([c, r]);
    }
  }
  if (changed.length) drawCells(kind, changed);
}

function strokeTo(kind, cell) {  // every cell between the last mouse position and this one
  const [c1, r1] = cell, [c0, r0] = lastCell || cell;
  const n = Math.max(Math.abs(c1 - c0), Math.abs(r1 - r0));
  for (let s = n ? 1 : 0; s <= n; s++) {
    dab(kind, Math.round(c0 + (c1 - c0) * s / (n || 1)), Math.round(r0 + (r1 - r0) * s / (n || 1)));
  }
  lastCell = cell;
}

function endStroke() {
  if (!stroke) return;
  if ([...stroke.values()].some((cells) => cells.size)) {
    undoStack.push(stroke);
    if (undoStack.length > UNDO_LEVELS) undoStack.shift();
    unsaved = true;
  }
  stroke = null; lastCell = null;
  report();
}

function undo() {
  const last = undoStack.pop();
  if (!last) { report("nothing to undo"); return; }
  for (const [key, before] of last) {
    const line = paintedLines.get(key);
    for (const [n, value] of before) line[n] = value;
  }
  unsaved = true;
  drawAll();
  report();
}

function painted() {  // [{direction, index, cells}] of the lines that hold paint, by direction and line
  const lines = [];
  for (const [key, cells] of paintedLines) {
    if (!cells.some((v) => v !== NOT_PAINTED)) continue;
    const [direction, index] = key.split(":");
    lines.push({ direction, index: +index, cells });
  }
  return lines.sort((a, b) => a.direction.localeCompare(b.direction) || a.index - b.index);
}

function report(text) {
  const lines = painted(), cells = lines.reduce((n, l) => n + l.cells.filter((v) => v !== NOT_PAINTED).length, 0);
  const status = document.getElementById("label-status");
  status.textContent = text || (cells ? `${cells} pixels painted on ${lines.length} line(s)` +
    (undoStack.length ? `, ${undoStack.length} stroke(s) to undo` : "") : "nothing painted");
}

// --- the masks at full resolution -------------------------------------------------------

function fullMask(line) {  // {file, direction, line, shape, grey}: a painted cell fills its step x step block
  const s = M.step, [regionInlines, nj, nk] = M.full_shape;
  const along = line.direction === "inline";
  const width = along ? nj : LB.store_inlines, first = along ? 0 : LB.region_start;
  const stop = along ? nj : LB.region_start + regionInlines, rows = PANELS[line.direction].rows();
  const grey = new Uint8Array(width * nk).fill(NOT_PAINTED);
  for (let n = 0; n < line.cells.length; n++) {
    const v = line.cells[n];
    if (v === NOT_PAINTED) continue;
    const c = Math.floor(n / rows), r = n % rows;
    for (let y = r * s; y < Math.min((r + 1) * s, nk); y++) {
      grey.fill(v, y * width + first + c * s, y * width + Math.min(first + (c + 1) * s, stop));
    }
  }
  const number = (along ? M.inline : M.crossline)[line.index];
  return { file: `${line.direction}_${number}_mask.png`, direction: line.direction, line: number,
           shape: [nk, width], grey };
}

const CRC_TABLE = new Uint32Array(256).map((_, n) => {
  let c = n;
  for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
  return c;
});

function crc32(bytes, crc = 0) {
  crc ^= 0xffffffff;
  for (let n = 0; n < bytes.length; n++) crc = CRC_TABLE[(crc ^ bytes[n]) & 0xff] ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

function concat(parts) {
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) { out.set(p, at); at += p.length; }
  return out;
}

function storedZlib(raw) {  // zlib of deflate's stored blocks, where CompressionStream is missing
  const parts = [Uint8Array.of(0x78, 0x01)];
  for (let at = 0; at < raw.length || at === 0; at += 65535) {
    const block = raw.subarray(at, at + 65535), last = at + 65535 >= raw.length;
    parts.push(Uint8Array.of(last ? 1 : 0, block.length & 0xff, block.length >> 8,
                             ~block.length & 0xff, (~block.length >> 8) & 0xff), block);
  }
  let a = 1, b = 0;
  for (let n = 0; n < raw.length; n++) { a = (a + raw[n]) % 65521; b = (b + a) % 65521; }
  parts.push(Uint8Array.of(b >> 8, b & 0xff, a >> 8, a & 0xff));
  return concat(parts);
}

async function zlib(raw) {
  if (typeof CompressionStream !== "function") return storedZlib(raw);
  const stream = new Blob([raw]).stream().pipeThrough(new CompressionStream("deflate"));
  return new Uint8Array(await new Response(stream).arrayBuffer());
}

async function png(width, height, grey) {  // 8-bit greyscale (colour type 0), no filter
  const raw = new Uint8Array((width + 1) * height);
  for (let y = 0; y < height; y++) raw.set(grey.subarray(y * width, (y + 1) * width), y * (width + 1) + 1);
  const chunk = (type, data) => {
    const head = new DataView(new ArrayBuffer(8)), body = concat([new TextEncoder().encode(type), data]);
    head.setUint32(0, data.length);
    const tail = new DataView(new ArrayBuffer(4));
    tail.setUint32(0, crc32(body));
    return concat([new Uint8Array(head.buffer, 0, 4), body, new Uint8Array(tail.buffer)]);
  };
  const ihdr = new DataView(new ArrayBuffer(13));
  ihdr.setUint32(0, width); ihdr.setUint32(4, height); ihdr.setUint8(8, 8); ihdr.setUint8(9, 0);
  return concat([Uint8Array.of(137, 80, 78, 71, 13, 10, 26, 10), chunk("IHDR", new Uint8Array(ihdr.buffer)),
                 chunk("IDAT", await zlib(raw)), chunk("IEND", new Uint8Array(0))]);
}

function zip(files) {  // [{name, data}] -> a stored ZIP (no compression) as a Blob
  const now = new Date(), parts = [], central = [];
  const time = (now.getHours() << 11) | (now.getMinutes() << 5) | (now.getSeconds() >> 1);
  const date = ((now.getFullYear() - 1980) << 9) | ((now.getMonth() + 1) << 5) | now.getDate();
  let offset = 0;
  for (const file of files) {
    const name = new TextEncoder().encode(file.name), crc = crc32(file.data), size = file.data.length;
    const local = new DataView(new ArrayBuffer(30)), entry = new DataView(new ArrayBuffer(46));
    for (const [view, at] of [[local, 4], [entry, 6]]) {  // the fields both headers share
      view.setUint16(at, 20, true); view.setUint16(at + 2, 0, true); view.setUint16(at + 4, 0, true);
      view.setUint16(at + 6, time, true); view.setUint16(at + 8, date, true); view.setUint32(at + 10, crc, true);
      view.setUint32(at + 14, size, true); view.setUint32(at + 18, size, true);
      view.setUint16(at + 22, name.length, true);
    }
    local.setUint32(0, 0x04034b50, true);
    entry.setUint32(0, 0x02014b50, true); entry.setUint16(4, 20, true); entry.setUint32(42, offset, true);
    parts.push(local, name, file.data);
    central.push(entry, name);
    offset += 30 + name.length + size;
  }
  const size = central.reduce((n, p) => n + p.byteLength, 0), end = new DataView(new ArrayBuffer(22));
  end.setUint32(0, 0x06054b50, true); end.setUint16(8, files.length, true); end.setUint16(10, files.length, true);
  end.setUint32(12, size, true); end.setUint32(16, offset, true);
  if (offset + size >= 0xffffffff || files.length >= 0xffff) throw new Error("too large for a ZIP without ZIP64");
  return new Blob([...parts, ...central, end], { type: "application/zip" });
}

async function save() {
  const lines = painted();
  if (!lines.length) { report("nothing painted: nothing saved"); return; }
  report(`saving ${lines.length} line(s)...`);
  const files = [], listed = [];
  for (const line of lines) {
    const mask = fullMask(line);
    files.push({ name: mask.file, data: await png(mask.shape[1], mask.shape[0], mask.grey) });
    listed.push({ file: mask.file, direction: mask.direction, line: mask.line, shape: mask.shape });
  }
  const index = { store: M.store, var: LB.name, class_names: LB.class_names, step: M.step, lines: listed };
  files.push({ name: "labels.json", data: new TextEncoder().encode(JSON.stringify(index, null, 1)) });
  const name = `${M.store}-${LB.name}-labels.zip`;
  let blob;
  try { blob = zip(files); } catch (error) { report(`not saved: ${error.message}; save fewer lines at a time`); return; }
  const link = document.createElement("a");
  link.href = URL.createObjectURL(blob);
  link.download = name;
  document.body.append(link);
  link.click();
  link.remove();
  setTimeout(() => URL.revokeObjectURL(link.href), 60000);
  unsaved = false;
  report(`saved ${name}: ${lines.length} line(s)`);
  document.body.dataset.saved = name;
}

// --- the toolbar and the mouse -------------------------------------------------------------

function button(id, text, onClick) {
  const b = document.createElement("button");
  b.type = "button"; b.id = id; b.textContent = text;
  b.addEventListener("click", onClick);
  return b;
}

function labelToolbar() {
  const bar = document.getElementById("label-toolbar");
  const head = document.createElement("b");
  head.textContent = `label ${LB.name}${LB.exists ? "" : " (new)"}:`;
  bar.append(head);
  const classButtons = LB.class_names.map((name, k) => {
    const b = button(`class-${k}`, name, () => pick(k));
    const swatch = document.createElement("span");
    swatch.className = "swatch"; swatch.style.background = `rgb(${M.luts.classes[k % 10]})`;
    b.prepend(swatch);
    b.title = `class ${k}`;
    return b;
  });
  const mode = button("brush-mode", "paint", () => {
    brush.erase = !brush.erase;
    mode.textContent = brush.erase ? "erase" : "paint";
    mode.setAttribute("aria-pressed", String(brush.erase));
  });
  mode.title = "switch between painting the class and erasing (back to not painted)";
  const size = document.createElement("input");
  size.type = "range"; size.id = "brush-size"; size.min = 1; size.max = 15; size.step = 2; size.value = brush.size;
  const sizeText = document.createElement("span");
  const showSize = () => { brush.size = +size.value; sizeText.textContent = ` brush ${brush.size} px`; };
  size.addEventListener("input", showSize);
  showSize();
  const sizeLabel = document.createElement("label");
  sizeLabel.append(size, sizeText);
  const status = document.createElement("span");
  status.id = "label-status";
  bar.append(...classButtons, mode, sizeLabel, button("undo", "undo", undo), button("save", "save", save), status);
  function pick(k) {
    brush.cls = k;
    if (brush.erase) mode.click();
    classButtons.forEach((b, n) => b.setAttribute("aria-pressed", String(n === k)));
  }
  pick(0);
  report();
}

function labelSetup() {
  labelToolbar();
  for (const kind of visible().filter((k) => k !== "sample")) {  // vertical sections only
    const canvas = PANELS[kind].canvas;
    canvas.style.cursor = "crosshair";
    canvas.addEventListener("mousedown", (event) => {
      if (event.button !== 0) return;
      event.preventDefault();
      stroke = new Map(); lastCell = null;
      const cell = cellAt(kind, event);
      if (cell) strokeTo(kind, cell);
    });
    canvas.addEventListener("mousemove", (event) => {
      if (!stroke) return;
      const cell = cellAt(kind, event);
      if (cell) strokeTo(kind, cell); else lastCell = null;
    });
  }
  window.addEventListener("mouseup", endStroke);
  window.addEventListener("keydown", (event) => {
    if ((event.ctrlKey || event.metaKey) && event.key === "z") { event.preventDefault(); undo(); }
  });
  window.addEventListener("beforeunload", (event) => { if (unsaved) event.preventDefault(); });
  drawAll();
}

labelSetup();
