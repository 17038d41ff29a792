// The dashboards as code. `npm run dashboards` writes grafana/dashboards/<uid>.json from these; a
// test checks the committed files are what this produces.
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { ipc } from './ipc.js';
import { overview } from './overview.js';
import { workers } from './workers.js';

export const OUT_DIR = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../dashboards');

/** File name (without .json) to dashboard JSON text, as committed. */
export function renderDashboards(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const d of [overview(), workers(), ipc()]) {
    // Panel ids, unique within a dashboard, in layout order (the builders leave them unset).
    (d.panels ?? []).forEach((p, i) => (p.id = i + 1));
    out[d.uid!] = `${JSON.stringify(d, null, 2)}\n`;
  }
  return out;
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  for (const [name, text] of Object.entries(renderDashboards()))
    writeFileSync(path.join(OUT_DIR, `${name}.json`), text);
}
