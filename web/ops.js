// The operator page: polls /metrics (Prometheus text format 0.0.4) and /readyz once a second and
// plots a few series on canvases, drawn by hand (no library, no external URL). Rates and latency
// quantiles are computed from the difference between two scrapes, the way PromQL's rate() and
// histogram_quantile() would over one interval.
'use strict';

const POLL_MS = 1000;
const WINDOW_MS = 120000;  // what a chart shows
const COLORS = { main: '#2f855a', p50: '#2b6cb0', p99: '#c05621' };

// ---- the exposition text ------------------------------------------------------------------------

const SAMPLE_RE = /^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{(.*)\})?\s+(\S+)/;
const LABEL_RE = /([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\]|\\.)*)"/g;

/** [{name, labels, value}] of every sample line; comments and blank lines are skipped. */
function parseExposition(text) {
  const out = [];
  for (const line of text.split('\n')) {
    if (line === '' || line.startsWith('#')) continue;
    const m = SAMPLE_RE.exec(line);
    if (!m) continue;
    const labels = {};
    if (m[2]) {
      for (const l of m[2].matchAll(LABEL_RE)) {
        labels[l[1]] = l[2].replace(/\\n/g, '\n').replace(/\\(["\\])/g, '$1');
      }
    }
    const v = m[3] === '+Inf' ? Infinity : m[3] === '-Inf' ? -Infinity : Number(m[3]);
    out.push({ name: m[1], labels, value: v });
  }
  return out;
}

function sum(samples, name, pred) {
  let total = 0;
  let found = false;
  for (const s of samples) {
    if (s.name !== name || (pred && !pred(s.labels))) continue;
    total += s.value;
    found = true;
  }
  return found ? total : null;
}

/** {le: cumulative count} of a histogram without labels other than le. */
function buckets(samples, name) {
  const out = new Map();
  for (const s of samples) {
    if (s.name === name + '_bucket') out.set(s.labels.le === '+Inf' ? Infinity : Number(s.labels.le), s.value);
  }
  return out;
}

/** The q-quantile of the observations between two scrapes' buckets; null when there were none. */
function quantileBetween(q, before, after) {
  const bounds = [...after.keys()].sort((a, b) => a - b);
  const total = (after.get(Infinity) || 0) - ((before && before.get(Infinity)) || 0);
  if (!(total > 0)) return null;
  const rank = q * total;
  let prevBound = 0;
  let prevCount = 0;
  for (const b of bounds) {
    const count = after.get(b) - ((before && before.get(b)) || 0);
    if (count >= rank) {
      if (b === Infinity) return prevBound;  // above the last bound: the last bound, as Prometheus
      const inBucket = count - prevCount;
      return inBucket > 0 ? prevBound + (b - prevBound) * (rank - prevCount) / inBucket : b;
    }
    prevBound = b;
    prevCount = count;
  }
  return prevBound;
}

// ---- the series ---------------------------------------------------------------------------------

const series = {
  connections: [],
  messages: [],
  sendAckP50: [], sendAckP99: [],
  commitP50: [], commitP99: [],
};
let previous = null;  // {t, messages, requests, failed, sendAck, commit}

function push(list, t, v) {
  list.push({ t, v });
  while (list.length && list[0].t < t - WINDOW_MS) list.shift();
}

function rate(now, before, dt) {
  if (now === null || before === null || !(dt > 0)) return null;
  return Math.max(now >= before ? now - before : now, 0) / dt;  // a reset counter starts again
}

function record(text, t) {
  const s = parseExposition(text);
  const sendOk = (l) => l.op === 'send_message' && l.result === 'ok';
  const cur = {
    t,
    messages: sum(s, 'hibiki_requests_total', sendOk) || 0,
    requests: sum(s, 'hibiki_requests_total') || 0,
    failed: sum(s, 'hibiki_requests_total', (l) => l.result !== 'ok') || 0,
    sendAck: buckets(s, 'hibiki_send_ack_seconds'),
    commit: buckets(s, 'hibiki_journal_commit_seconds'),
  };
  push(series.connections, t, sum(s, 'hibiki_websocket_connections'));
  if (previous) {
    const dt = (t - previous.t) / 1000;
    push(series.messages, t, rate(cur.messages, previous.messages, dt));
    const ms = (v) => (v === null ? null : v * 1000);
    push(series.sendAckP50, t, ms(quantileBetween(0.5, previous.sendAck, cur.sendAck)));
    push(series.sendAckP99, t, ms(quantileBetween(0.99, previous.sendAck, cur.sendAck)));
    push(series.commitP50, t, ms(quantileBetween(0.5, previous.commit, cur.commit)));
    push(series.commitP99, t, ms(quantileBetween(0.99, previous.commit, cur.commit)));
    setText('n-requests', fmt(rate(cur.requests, previous.requests, dt)));
    setText('n-failed', fmt(rate(cur.failed, previous.failed, dt)));
  }
  previous = cur;
  const open = sum(s, 'hibiki_journal_breaker_state', (l) => l.state === 'open');
  const half = sum(s, 'hibiki_journal_breaker_state', (l) => l.state === 'half_open');
  setText('n-breaker', open ? 'open' : half ? 'half open' : 'closed');
  setText('n-entities', fmt(sum(s, 'hibiki_live_entities')));
  setText('n-dropped', fmt(sum(s, 'hibiki_slow_clients_dropped_total')));
  const rss = sum(s, 'process_resident_memory_bytes');
  setText('n-rss', rss === null ? '–' : (rss / (1 << 20)).toFixed(1) + ' MiB');
}

function fmt(v) {
  if (v === null || v === undefined || Number.isNaN(v)) return '–';
  return Math.abs(v) >= 100 || Number.isInteger(v) ? String(Math.round(v)) : v.toFixed(2);
}

function setText(id, text) {
  document.getElementById(id).textContent = text;
}

// ---- drawing ------------------------------------------------------------------------------------

/** A round number at or above v, for the top of the y axis. */
function niceCeil(v) {
  if (!(v > 0)) return 1;
  const p = Math.pow(10, Math.floor(Math.log10(v)));
  for (const m of [1, 2, 5, 10]) if (m * p >= v) return m * p;
  return 10 * p;
}

/** Draws `lines` ([{points, color}]) over the last WINDOW_MS; returns the points drawn. */
function draw(canvas, lines, now) {
  const ctx = canvas.getContext('2d');
  const w = canvas.width;
  const h = canvas.height;
  const left = 48, right = 8, top = 8, bottom = 20;
  ctx.clearRect(0, 0, w, h);
  let max = 0;
  for (const l of lines) for (const p of l.points) if (p.v !== null && p.v > max) max = p.v;
  const yMax = niceCeil(max);
  const x = (t) => left + (w - left - right) * (1 - (now - t) / WINDOW_MS);
  const y = (v) => top + (h - top - bottom) * (1 - v / yMax);

  ctx.font = '11px sans-serif';
  ctx.strokeStyle = '#e2e2e2';
  ctx.fillStyle = '#666';
  ctx.lineWidth = 1;
  for (let i = 0; i <= 4; i++) {
    const v = (yMax * i) / 4;
    ctx.beginPath();
    ctx.moveTo(left, y(v));
    ctx.lineTo(w - right, y(v));
    ctx.stroke();
    ctx.fillText(fmt(v), 4, y(v) + 4);
  }
  ctx.fillText(`-${WINDOW_MS / 1000} s`, left, h - 4);
  ctx.fillText('now', w - right - 22, h - 4);

  let drawn = 0;
  for (const l of lines) {
    ctx.strokeStyle = l.color;
    ctx.fillStyle = l.color;
    ctx.lineWidth = 2;
    ctx.beginPath();
    let pen = false;
    for (const p of l.points) {
      if (p.v === null) { pen = false; continue; }  // no data in that interval: a gap
      if (pen) ctx.lineTo(x(p.t), y(p.v)); else ctx.moveTo(x(p.t), y(p.v));
      pen = true;
      drawn++;
    }
    ctx.stroke();
    const last = l.points.length ? l.points[l.points.length - 1] : null;
    if (last && last.v !== null) {
      ctx.beginPath();
      ctx.arc(x(last.t), y(last.v), 3, 0, 2 * Math.PI);
      ctx.fill();
    }
  }
  // Test hooks: how many points are on the canvas; the newest and largest value of the first line.
  canvas.dataset.points = String(drawn);
  const first = lines[0].points;
  canvas.dataset.last = first.length && first[first.length - 1].v !== null ? String(first[first.length - 1].v) : '';
  canvas.dataset.max = String(first.reduce((m, p) => (p.v !== null && p.v > m ? p.v : m), 0));
  return drawn;
}

function render(now) {
  draw(document.getElementById('chart-connections'), [{ points: series.connections, color: COLORS.main }], now);
  draw(document.getElementById('chart-messages'), [{ points: series.messages, color: COLORS.main }], now);
  draw(document.getElementById('chart-send-ack'), [
    { points: series.sendAckP50, color: COLORS.p50 },
    { points: series.sendAckP99, color: COLORS.p99 },
  ], now);
  draw(document.getElementById('chart-commit'), [
    { points: series.commitP50, color: COLORS.p50 },
    { points: series.commitP99, color: COLORS.p99 },
  ], now);
}

// ---- polling ------------------------------------------------------------------------------------

async function pollMetrics() {
  const state = document.getElementById('scrape-state');
  try {
    const r = await fetch('metrics', { cache: 'no-store' });
    if (!r.ok) throw new Error(`/metrics: HTTP ${r.status}`);
    const t = Date.now();
    record(await r.text(), t);
    render(t);
    state.dataset.state = 'ok';
    state.textContent = 'scraped ' + new Date(t).toLocaleTimeString();
  } catch (e) {
    state.dataset.state = 'error';
    state.textContent = String(e.message || e);
  }
}

async function pollReady() {
  const el = document.getElementById('ready-state');
  const reasons = document.getElementById('ready-reasons');
  try {
    const r = await fetch('readyz', { cache: 'no-store' });
    const body = await r.json();
    el.dataset.state = body.ready ? 'ready' : 'not-ready';
    el.textContent = body.ready ? 'ready' : 'not ready';
    reasons.textContent = body.ready ? '' : (body.reasons || []).join('; ');
  } catch (e) {
    el.dataset.state = 'unknown';
    el.textContent = 'readiness unknown';
  }
}

async function loop() {
  await Promise.all([pollMetrics(), pollReady()]);
  setTimeout(loop, POLL_MS);
}

if (typeof document !== 'undefined') loop();
// For a unit check from node: the pure functions.
if (typeof module !== 'undefined') module.exports = { parseExposition, quantileBetween, niceCeil };
