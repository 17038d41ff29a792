/**
 * Browser-side drawing helpers for the status page, as JavaScript source that status-page-html.ts
 * inlines (the page makes no network request but its own event stream). Charts are SVG so tests
 * can read them from the DOM: each is `<svg class="chart">` whose `<polyline>` holds one point per
 * non-null sample. The source sits in a template literal: no backtick, no `${`, and backslashes doubled.
 */
export const STATUS_PAGE_CHART_JS = `
const SVG_NS = 'http://www.w3.org/2000/svg';

function svgEl(tag, attrs) {
  const e = document.createElementNS(SVG_NS, tag);
  for (const k in attrs) e.setAttribute(k, attrs[k]);
  return e;
}

/** An empty chart w x h (viewBox units; CSS sets the rendered size). */
function makeChart(w, h) {
  const svg = svgEl('svg', { class: 'chart', viewBox: '0 0 ' + w + ' ' + h, preserveAspectRatio: 'none', role: 'img' });
  svg.appendChild(svgEl('path', { class: 'area' }));
  svg.appendChild(svgEl('polyline', { class: 'line', points: '', 'vector-effect': 'non-scaling-stroke' }));
  svg.appendChild(svgEl('title', {}));
  return svg;
}

/**
 * Draws samples ([at, value|null], oldest first) across the window [t0, t1] on a 0..max scale,
 * where max is the largest value but never below minMax (so noise near zero stays flat).
 * Null samples are skipped. Returns the scale's top for labels.
 */
function drawChart(svg, samples, t0, t1, minMax, label) {
  const vb = svg.viewBox.baseVal, w = vb.width, h = vb.height;
  let max = minMax || 0, peak = null;
  for (const s of samples) if (s[1] != null && isFinite(s[1])) { max = Math.max(max, s[1]); peak = peak == null ? s[1] : Math.max(peak, s[1]); }
  if (!(max > 0)) max = 1;
  const span = Math.max(1, t1 - t0), pts = [];
  for (const s of samples) {
    if (s[1] == null || !isFinite(s[1])) continue;
    const x = Math.max(0, Math.min(w, ((s[0] - t0) / span) * w));
    const y = h - 1 - (Math.max(0, s[1]) / max) * (h - 2);
    pts.push(x.toFixed(1) + ',' + y.toFixed(1));
  }
  svg.querySelector('polyline').setAttribute('points', pts.join(' '));
  const area = pts.length > 1 ? 'M' + pts[0].split(',')[0] + ',' + h + ' L' + pts.join(' L') + ' L' + pts[pts.length - 1].split(',')[0] + ',' + h + ' Z' : '';
  svg.querySelector('path.area').setAttribute('d', area);
  svg.querySelector('title').textContent = label ? label(peak) : '';
  return peak;
}

/**
 * A horizontal gauge (a div with class gauge): the fill shows value, marks show the target and the
 * scale-down threshold. The scale reaches past both so the marks never sit at the edge.
 */
function drawGauge(el, value, target, downBelow) {
  if (!el.firstChild) for (const c of ['fill', 'mark target', 'mark down']) { const d = document.createElement('div'); d.className = c; el.appendChild(d); }
  const top = Math.max(target * 1.5, (value || 0) * 1.1, downBelow || 0) || 1;
  const pct = (v) => Math.max(0, Math.min(100, (v / top) * 100)).toFixed(1) + '%';
  const fill = el.querySelector('.fill'), tgt = el.querySelector('.target'), down = el.querySelector('.down');
  fill.style.width = value == null ? '0' : pct(value);
  fill.className = 'fill' + (value == null ? '' : value >= target ? ' over' : downBelow != null && value < downBelow ? ' under' : '');
  tgt.style.left = pct(target);
  down.hidden = downBelow == null;
  if (downBelow != null) down.style.left = pct(downBelow);
}
`;
