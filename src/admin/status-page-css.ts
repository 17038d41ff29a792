// The status page's stylesheet (status-page-html.ts inlines it).
export const STATUS_PAGE_CSS = `
:root { color-scheme: dark; --bg: #0e1217; --panel: #161c23; --line: #27313c; --fg: #dde4ec; --muted: #8593a3; --accent: #58a6ff;
  --ok: #3fb950; --warn: #d29922; --bad: #f85149; --info: #58a6ff; --idle: #6e7b8a; --purple: #a371f7; }
* { box-sizing: border-box; } [hidden] { display: none !important; }
body { margin: 0; background: var(--bg); color: var(--fg); font: 14px/1.4 system-ui, -apple-system, "Segoe UI", Roboto, sans-serif; font-variant-numeric: tabular-nums; }
header { display: flex; align-items: center; gap: 14px; padding: 10px 20px; background: var(--panel); border-bottom: 1px solid var(--line); position: sticky; top: 0; z-index: 1; }
.brand { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .06em; }
h1 { font-size: 18px; margin: 0; font-weight: 600; }
h2 { font-size: 13px; margin: 0 0 10px; text-transform: uppercase; letter-spacing: .06em; color: var(--muted); font-weight: 600; }
h3 { font-size: 12px; margin: 14px 0 6px; color: var(--muted); font-weight: 600; text-transform: uppercase; letter-spacing: .05em; }
.muted { color: var(--muted); }
.pill { border: 1px solid var(--line); border-radius: 999px; padding: 1px 10px; font-size: 13px; }
.conn { margin-left: auto; display: flex; align-items: center; gap: 6px; font-size: 13px; }
.conn .dot { width: 9px; height: 9px; border-radius: 50%; background: var(--idle); }
.conn[data-state=live] .dot { background: var(--ok); box-shadow: 0 0 0 3px rgba(63,185,80,.2); }
.conn[data-state=reconnecting] .dot, .conn[data-state=stale] .dot { background: var(--warn); animation: blink 1s infinite; }
.conn[data-state=reconnecting], .conn[data-state=stale] { color: var(--warn); }
@keyframes blink { 50% { opacity: .3; } }
body:not([data-conn=live]) main { opacity: .6; }
main { padding: 16px 20px 24px; display: grid; gap: 16px; max-width: 1600px; margin: 0 auto; }
.panel { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 12px 14px; min-width: 0; }
.tiles { display: grid; grid-template-columns: repeat(auto-fit, minmax(170px, 1fr)); gap: 12px; }
.tile { background: var(--panel); border: 1px solid var(--line); border-radius: 8px; padding: 10px 12px 8px; }
.tile .t-label { color: var(--muted); font-size: 12px; text-transform: uppercase; letter-spacing: .05em; }
.tile .t-value { font-size: 26px; font-weight: 600; margin: 2px 0 4px; white-space: nowrap; }
.tile .t-value .u { font-size: 13px; color: var(--muted); font-weight: 400; }
.tile .t-peak { color: var(--muted); font-size: 11px; }
.tile.warn .t-value { color: var(--warn); } .tile.bad .t-value { color: var(--bad); }
.tile .chart { width: 100%; height: 44px; }
svg.chart { display: block; overflow: visible; }
svg.chart .line { fill: none; stroke: var(--accent); stroke-width: 1.5; stroke-linejoin: round; }
svg.chart .area { fill: rgba(88,166,255,.14); stroke: none; }
.tile.bad svg.chart .line { stroke: var(--bad); } .tile.bad svg.chart .area { fill: rgba(248,81,73,.14); }
table { width: 100%; border-collapse: collapse; font-size: 13px; }
th { text-align: left; color: var(--muted); font-weight: 500; font-size: 12px; padding: 4px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; }
td { padding: 6px 8px; border-bottom: 1px solid var(--line); white-space: nowrap; vertical-align: middle; }
tr.worker:last-child td { border-bottom: 0; }
td .num { display: inline-block; min-width: 52px; text-align: right; margin-right: 8px; }
td svg.chart { display: inline-block; vertical-align: middle; width: 90px; height: 22px; }
td[data-col=pid], td[data-col=slot] { font-family: ui-monospace, Menlo, Consolas, monospace; }
.badge { display: inline-block; padding: 1px 8px; border-radius: 999px; font-size: 12px; font-weight: 600; border: 1px solid currentColor; }
.tone-ok { color: var(--ok); } .tone-warn { color: var(--warn); } .tone-bad { color: var(--bad); } .tone-info { color: var(--info); } .tone-idle { color: var(--idle); } .tone-purple { color: var(--purple); }
.fails { color: var(--warn); margin-left: 6px; font-size: 12px; }
.bar { display: inline-block; vertical-align: middle; width: 80px; height: 7px; border-radius: 4px; background: var(--line); margin-right: 8px; overflow: hidden; }
.bar .fill { height: 100%; background: var(--ok); } .bar .fill.warn { background: var(--warn); } .bar .fill.bad { background: var(--bad); }
.cols { display: grid; grid-template-columns: minmax(0, 2fr) minmax(0, 3fr); gap: 16px; align-items: start; }
@media (max-width: 900px) { .cols { grid-template-columns: 1fr; } }
#autoscaler[data-on=true] .as-off, #autoscaler[data-on=false] .as-on { display: none; }
.as-sizes { display: flex; flex-wrap: wrap; gap: 6px 18px; color: var(--muted); margin-bottom: 8px; } .as-sizes b { color: var(--fg); }
.pool { display: flex; flex-wrap: wrap; gap: 3px; margin-bottom: 12px; }
.pool i { width: 14px; height: 14px; border-radius: 3px; border: 1px solid var(--line); }
.pool i.on { background: var(--accent); border-color: var(--accent); } .pool i.want { border-color: var(--warn); border-style: dashed; } .pool i.min { box-shadow: inset 0 -3px 0 var(--idle); }
.signal { margin: 8px 0 12px; }
.s-head { display: flex; gap: 10px; align-items: baseline; margin-bottom: 4px; } .s-name { font-weight: 600; min-width: 110px; } .s-target { color: var(--muted); font-size: 12px; margin-left: auto; }
.gauge { position: relative; height: 10px; border-radius: 5px; background: var(--line); }
.gauge .fill { position: absolute; left: 0; top: 0; bottom: 0; border-radius: 5px; background: var(--accent); transition: width .3s; }
.gauge .fill.over { background: var(--warn); } .gauge .fill.under { background: var(--idle); }
.gauge .mark { position: absolute; top: -3px; bottom: -3px; width: 2px; margin-left: -1px; } .gauge .mark.target { background: var(--fg); } .gauge .mark.down { background: var(--muted); opacity: .7; }
#as-last .dir-up { color: var(--warn); } #as-last .dir-down { color: var(--info); }
.traces { display: flex; flex-wrap: wrap; gap: 4px; margin-top: 3px; }
code.trace { font: 11px ui-monospace, Menlo, Consolas, monospace; background: var(--bg); border: 1px solid var(--line); border-radius: 4px; padding: 0 5px; color: var(--muted); }
#events { list-style: none; margin: 0; padding: 0; max-height: 460px; overflow-y: auto; }
li.event { display: grid; grid-template-columns: 64px 130px 1fr; gap: 4px 10px; padding: 5px 6px 5px 10px; border-left: 3px solid var(--idle); border-bottom: 1px solid var(--line); font-size: 13px; }
li.event time { color: var(--muted); } li.event .e-type { font-family: ui-monospace, Menlo, Consolas, monospace; font-size: 12px; color: var(--muted); overflow: hidden; text-overflow: ellipsis; white-space: nowrap; }
li.event .traces { grid-column: 3; margin: 0; }
li.event.level-info { border-left-color: var(--info); } li.event.level-warn { border-left-color: var(--warn); } li.event.level-error { border-left-color: var(--bad); background: rgba(248,81,73,.07); }
li.event.level-warn .e-type { color: var(--warn); } li.event.level-error .e-type { color: var(--bad); }
`;
