import { STATUS_PAGE_CHART_JS } from './status-page-chart.js';
import { STATUS_PAGE_CSS } from './status-page-css.js';

/**
 * The live status page the admin server serves at `GET /`: one self-contained document (inline
 * CSS and script, no network request but the relative `events` stream, so it works air-gapped and
 * behind a path prefix). The stream sends `hello` {service, history, events}, then `status` about
 * once a second and `event` as things happen. Server data reaches the DOM through textContent and
 * attributes only, never innerHTML.
 */
export function statusPageHtml(o: { title: string }): string {
  const title = escapeHtml(o.title);
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<link rel="icon" href="data:,">
<title>${title}</title>
<style>${STATUS_PAGE_CSS}</style>
</head>
<body data-conn="connecting">
<header>
  <div class="brand">${title}</div>
  <h1 id="service">${title}</h1>
  <span id="size" class="pill">size –</span>
  <span id="updated" class="muted"></span>
  <span id="conn" class="conn" data-state="connecting" role="status"><span class="dot"></span><span class="label">connecting…</span></span>
</header>
<main>
  <section id="cluster" class="tiles" aria-label="cluster"></section>
  <section class="panel">
    <h2>Workers <span id="worker-count" class="muted"></span></h2>
    <table id="workers">
      <thead><tr><th>Slot</th><th>PID</th><th>State</th><th>Uptime</th><th>Restarts</th><th>CPU</th><th>RSS / limit</th><th>Req/s</th><th>p95</th><th>Loop delay</th><th>Health</th></tr></thead>
      <tbody></tbody>
    </table>
    <p id="no-workers" class="muted">No workers.</p>
  </section>
  <div class="cols">
    <section id="autoscaler" class="panel" data-on="false">
      <h2>Auto-scaler</h2>
      <p class="as-off muted">Auto-scaling off.</p>
      <div class="as-on">
        <div class="as-sizes"><span>size <b id="as-size"></b></span><span>desired <b id="as-desired"></b></span><span>range <b id="as-range"></b></span><span>hold <b id="as-hold"></b></span></div>
        <div id="as-pool" class="pool" aria-hidden="true"></div>
        <div id="as-signals"></div>
        <h3>Last decision</h3>
        <div id="as-last"></div>
      </div>
    </section>
    <section class="panel">
      <h2>Events <span id="event-count" class="muted"></span></h2>
      <ol id="events"></ol>
    </section>
  </div>
</main>
<script>${STATUS_PAGE_CHART_JS}${PAGE_JS}</script>
</body>
</html>
`;
}

function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
}

// The page's script; see STATUS_PAGE_CHART_JS for the rule on backticks and `${`.
const PAGE_JS = `
(() => {
const HISTORY_CAP = 300, EVENTS_CAP = 200, STALE_MS = 5000, RETRY_MS = 3000;
const $ = (id) => document.getElementById(id);
const el = (tag, cls, text) => { const e = document.createElement(tag); if (cls) e.className = cls; if (text != null) e.textContent = String(text); return e; };
const num = (v, unit) => { if (v == null || !isFinite(v)) return '–'; const a = Math.abs(v); return (Number.isInteger(v) ? String(v) : a >= 100 ? v.toFixed(0) : a >= 10 ? v.toFixed(1) : v.toFixed(2)) + (unit ? ' ' + unit : ''); };
const bytes = (b) => b == null ? '–' : b >= 1073741824 ? (b / 1073741824).toFixed(2) + ' GiB' : (b / 1048576).toFixed(0) + ' MiB';
const pad = (n) => String(n).padStart(2, '0');
const clock = (ms) => { const d = new Date(ms); return pad(d.getHours()) + ':' + pad(d.getMinutes()) + ':' + pad(d.getSeconds()); };
const dur = (s) => { s = Math.max(0, Math.floor(s)); if (s < 60) return s + 's'; if (s < 3600) return Math.floor(s / 60) + 'm ' + (s % 60) + 's';
  if (s < 86400) return Math.floor(s / 3600) + 'h ' + pad(Math.floor((s % 3600) / 60)) + 'm'; return Math.floor(s / 86400) + 'd ' + Math.floor((s % 86400) / 3600) + 'h'; };
const STATE_TONE = { ready: 'ok', starting: 'info', standby: 'idle', draining: 'warn', stopping: 'idle', stopped: 'idle', exited: 'bad', crashed: 'bad' };
const TRIGGER_NAME = { cpu: 'CPU', memory: 'Memory', responseTime: 'Response time', queueLength: 'Queue length' };
const HEALTH_TONE = { ok: 'ok', failing: 'warn', unhealthy: 'bad', excluded: 'purple', unknown: 'idle' };
const badge = (td, text, tone) => { let b = td.firstChild; if (!b) b = td.appendChild(el('span')); b.className = 'badge tone-' + (tone || 'idle'); b.textContent = text; };
const traces = (ids) => { const d = el('div', 'traces'); for (const id of ids || []) { const c = d.appendChild(el('code', 'trace', id)); c.title = 'trace id'; } return d; };

const TILES = [
  { key: 'requestRate', label: 'Requests', unit: 'req/s', floor: 1 },
  { key: 'errorRate', label: 'Errors', unit: '%', floor: 1, scale: 100 },
  { key: 'p50Ms', label: 'p50 latency', unit: 'ms', floor: 10 },
  { key: 'p95Ms', label: 'p95 latency', unit: 'ms', floor: 10 },
  { key: 'p99Ms', label: 'p99 latency', unit: 'ms', floor: 10 },
  { key: 'activeRequests', label: 'In flight', unit: '', floor: 1 },
];
const tiles = TILES.map((t) => {
  const tile = el('div', 'tile'); tile.dataset.metric = t.key;
  const value = el('span', 'v', '–'), chart = makeChart(200, 44), peak = el('div', 't-peak', ' ');
  const tv = el('div', 't-value'); tv.append(value, ' ', el('span', 'u', t.unit));
  tile.append(el('div', 't-label', t.label), tv, chart, peak);
  $('cluster').appendChild(tile);
  return { t, tile, value, chart, peak };
});

let history = [];
const workerHist = new Map(); // slot -> [at, cpuPct, requestRate][], oldest first
const rows = new Map(); // slot -> { tr, td, cpu, cpuChart, rate, rateChart, bar, rss }
// A standby has no slot (-1): its row is keyed by its pid, and shown after the slots.
const keyOf = (w) => (w.slot < 0 ? 'standby ' + w.pid : w.slot);
const order = (w) => (w.slot < 0 ? 1e9 + w.pid : w.slot);
const COLS = ['slot', 'pid', 'state', 'uptime', 'restarts', 'cpu', 'rss', 'rate', 'p95', 'loop', 'health'];

function record(s) {
  for (const w of s.workers) {
    let h = workerHist.get(keyOf(w)); if (!h) workerHist.set(keyOf(w), (h = []));
    h.push([s.at, w.cpuPct, w.requestRate]); if (h.length > HISTORY_CAP) h.splice(0, h.length - HISTORY_CAP);
  }
  // A slot that leaves the pool starts a fresh history if it comes back.
  for (const key of workerHist.keys()) if (!s.workers.some((w) => keyOf(w) === key)) workerHist.delete(key);
}

function workerRow(slot) {
  const tr = el('tr', 'worker'), td = {}; tr.dataset.slot = slot;
  for (const k of COLS) { td[k] = tr.appendChild(el('td')); td[k].dataset.col = k; }
  const r = { tr, td, cpu: el('span', 'num'), cpuChart: makeChart(90, 22), rate: el('span', 'num'), rateChart: makeChart(90, 22), bar: el('span', 'bar'), rss: el('span') };
  td.cpu.append(r.cpu, r.cpuChart); td.rate.append(r.rate, r.rateChart);
  r.bar.appendChild(el('div', 'fill')); td.rss.append(r.bar, r.rss);
  return r;
}

function renderWorker(r, w, t0, t1) {
  const h = workerHist.get(keyOf(w)) || [];
  r.td.slot.textContent = w.slot < 0 ? '–' : w.slot; r.td.pid.textContent = w.pid;
  badge(r.td.state, w.state, STATE_TONE[w.state]);
  r.td.uptime.textContent = dur(w.uptimeS);
  r.td.restarts.textContent = w.restarts; r.td.restarts.className = w.restarts > 0 ? 'tone-warn' : '';
  r.cpu.textContent = num(w.cpuPct, '%');
  drawChart(r.cpuChart, h.map((x) => [x[0], x[1]]), t0, t1, 100, (p) => 'CPU, peak ' + num(p, '%'));
  r.rate.textContent = num(w.requestRate);
  drawChart(r.rateChart, h.map((x) => [x[0], x[2]]), t0, t1, 1, (p) => 'req/s, peak ' + num(p));
  const share = w.rssLimitBytes && w.rssBytes != null ? w.rssBytes / w.rssLimitBytes : null;
  r.bar.hidden = share == null; r.rss.textContent = bytes(w.rssBytes) + (w.rssLimitBytes ? ' / ' + bytes(w.rssLimitBytes) : '');
  if (share != null) { const f = r.bar.firstChild; f.style.width = Math.min(100, share * 100).toFixed(1) + '%'; f.className = 'fill' + (share >= 0.9 ? ' bad' : share >= 0.75 ? ' warn' : ''); }
  r.td.p95.textContent = num(w.p95Ms, 'ms');
  r.td.loop.textContent = num(w.eventLoopDelayMs, 'ms');
  r.td.loop.className = w.eventLoopDelayMs >= 200 ? 'tone-bad' : w.eventLoopDelayMs >= 50 ? 'tone-warn' : '';
  badge(r.td.health, w.health, HEALTH_TONE[w.health]);
  let f = r.td.health.querySelector('.fails'); if (!f) f = r.td.health.appendChild(el('span', 'fails'));
  f.textContent = w.healthFailures > 0 ? '×' + w.healthFailures : '';
  f.title = w.healthFailures > 0 ? w.healthFailures + ' consecutive failed checks' : '';
}

function renderAutoscaler(a) {
  $('autoscaler').dataset.on = a ? 'true' : 'false';
  if (!a) return;
  $('as-size').textContent = a.size; $('as-desired').textContent = a.desired;
  $('as-range').textContent = a.minWorkers + '–' + a.maxWorkers; $('as-hold').textContent = a.hold == null ? 'just changed' : a.hold;
  const pool = $('as-pool'), n = Math.min(a.maxWorkers, 64);
  while (pool.children.length > n) pool.lastChild.remove();
  while (pool.children.length < n) pool.appendChild(el('i'));
  [...pool.children].forEach((c, i) => { c.className = (i < a.size ? 'on' : i < a.desired ? 'want' : '') + (i < a.minWorkers ? ' min' : ''); });
  pool.title = 'size ' + a.size + ', desired ' + a.desired + ', min ' + a.minWorkers + ', max ' + a.maxWorkers;
  const box = $('as-signals'), seen = new Set();
  for (const g of a.signals) {
    seen.add(g.trigger);
    let d = box.querySelector('.signal[data-trigger="' + CSS.escape(g.trigger) + '"]');
    if (!d) {
      d = box.appendChild(el('div', 'signal')); d.dataset.trigger = g.trigger;
      const head = d.appendChild(el('div', 's-head')); head.append(el('span', 's-name', TRIGGER_NAME[g.trigger] || g.trigger), el('span', 's-value'), el('span', 's-target'));
      d.appendChild(el('div', 'gauge'));
    }
    d.querySelector('.s-value').textContent = num(g.value, g.unit);
    d.querySelector('.s-target').textContent = 'target ' + num(g.target, g.unit) + (g.scaleDownBelow != null ? ' · down below ' + num(g.scaleDownBelow, g.unit) : '');
    drawGauge(d.querySelector('.gauge'), g.value, g.target, g.scaleDownBelow);
  }
  for (const d of [...box.children]) if (!seen.has(d.dataset.trigger)) d.remove();
  const last = $('as-last'), l = a.lastDecision; last.replaceChildren();
  if (!l) { last.appendChild(el('span', 'muted', 'No scaling decision yet.')); return; }
  const line = last.appendChild(el('div'));
  line.append(el('span', 'muted', clock(l.at) + '  '), el('b', 'dir-' + l.direction, (l.direction === 'up' ? '▲ up ' : '▼ down ') + l.from + ' → ' + l.to),
    el('span', null, '  on ' + l.trigger + ' ' + num(l.value) + ' vs target ' + num(l.target)));
  last.appendChild(traces(l.traceIds));
}

function render() {
  const s = history[history.length - 1]; if (!s) return;
  const t1 = s.at, t0 = Math.min(history[0].at, t1 - 60000);
  $('size').textContent = 'size ' + s.size; $('updated').textContent = 'updated ' + clock(s.at);
  for (const x of tiles) {
    const k = x.t.key, sc = x.t.scale || 1, v = s.cluster ? s.cluster[k] : null;
    x.value.textContent = num(v == null ? null : v * sc);
    const peak = drawChart(x.chart, history.map((h) => [h.at, h.cluster && h.cluster[k] != null ? h.cluster[k] * sc : null]), t0, t1, x.t.floor, (p) => x.t.label + ', peak ' + num(p, x.t.unit));
    x.peak.textContent = peak == null ? 'no data' : Math.round((t1 - t0) / 60000) + ' min peak ' + num(peak, x.t.unit);
    if (k === 'errorRate') x.tile.className = 'tile' + (v >= 0.05 ? ' bad' : v >= 0.005 ? ' warn' : '');
  }
  const tbody = document.querySelector('#workers tbody'), seen = new Set();
  for (const w of [...s.workers].sort((a, b) => order(a) - order(b))) {
    seen.add(keyOf(w));
    let r = rows.get(keyOf(w)); if (!r) rows.set(keyOf(w), (r = workerRow(keyOf(w))));
    renderWorker(r, w, t0, t1); tbody.appendChild(r.tr);
  }
  for (const [slot, r] of rows) if (!seen.has(slot)) { r.tr.remove(); rows.delete(slot); workerHist.delete(slot); }
  $('worker-count').textContent = '(' + s.workers.length + ')'; $('no-workers').hidden = s.workers.length > 0;
  renderAutoscaler(s.autoscaler);
}

function eventItem(e) {
  const li = el('li', 'event level-' + e.level); li.dataset.type = e.type; li.dataset.level = e.level;
  li.append(el('time', null, clock(e.at)), el('span', 'e-type', e.type), el('span', 'e-text', e.text));
  li.firstChild.dateTime = new Date(e.at).toISOString(); li.children[1].title = e.type;
  if (e.traceIds && e.traceIds.length) li.appendChild(traces(e.traceIds));
  return li;
}
function addEvent(e) {
  const list = $('events'); list.insertBefore(eventItem(e), list.firstChild);
  while (list.children.length > EVENTS_CAP) list.lastChild.remove();
  $('event-count').textContent = '(' + list.children.length + ')';
}

let source = null, retry = null, lastMessage = 0;
function setConn(state, label) {
  const c = $('conn'); c.dataset.state = state; document.body.dataset.conn = state;
  c.querySelector('.label').textContent = label || { connecting: 'connecting…', live: 'live', reconnecting: 'disconnected · reconnecting…' }[state];
}
const on = (name, fn) => source.addEventListener(name, (m) => { lastMessage = Date.now(); try { fn(JSON.parse(m.data)); } catch (err) { console.error('status page: bad ' + name + ' message', err); } });
function connect() {
  retry = null; source = new EventSource('events');
  source.onopen = () => setConn('live');
  // EventSource retries by itself unless the server refused the stream (CLOSED); then we retry.
  source.onerror = () => { setConn('reconnecting'); if (source.readyState === EventSource.CLOSED && !retry) retry = setTimeout(connect, RETRY_MS); };
  on('hello', (h) => {
    setConn('live');
    if (h.service) { $('service').textContent = h.service; }
    history = (h.history || []).slice(-HISTORY_CAP); workerHist.clear(); history.forEach(record);
    $('events').replaceChildren(); (h.events || []).slice(-EVENTS_CAP).forEach(addEvent); $('event-count').textContent = '(' + $('events').children.length + ')';
    render();
  });
  on('status', (s) => { history.push(s); if (history.length > HISTORY_CAP) history.splice(0, history.length - HISTORY_CAP); record(s); render(); });
  on('event', addEvent);
}
setInterval(() => {
  const c = $('conn').dataset.state, idle = Date.now() - lastMessage;
  if ((c === 'live' || c === 'stale') && lastMessage) idle > STALE_MS ? setConn('stale', 'no data for ' + Math.round(idle / 1000) + 's') : c === 'stale' && setConn('live');
}, 1000);
connect();
})();
`;
