// What the leak detector gets from a real worker at default settings: one worker of
// test/fixtures/memory-shapes.mjs (a 2 MB string kept a second, or a 0-50 MB sawtooth) under
// light traffic, its major GCs (V8's own and those the memory manager forced, with their pauses)
// and when worker:leak arrived. Prints one Markdown row.
//   npm run build && node bench/leak-readings.mjs --shape leak|sawtooth [--seconds 60] [--rps 5]
import { spawn } from 'node:child_process';
import http from 'node:http';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { arg, median } from './util.mjs';

const shape = arg('shape', 'leak');
const seconds = Number(arg('seconds', 60));
const rps = Number(arg('rps', 5));
const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const child = spawn(process.execPath, [path.join(root, 'test/fixtures/memory-shapes.mjs')], {
  cwd: root,
  env: { ...process.env, SHAPE: shape, GC_LOG: '1' },
  stdio: ['ignore', 'pipe', 'ignore'],
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const majors = [];
let begun;
let reportedS;
let traffic;
createInterface({ input: child.stdout }).on('line', (line) => {
  let e;
  try {
    e = JSON.parse(line);
  } catch {
    return;
  }
  if (e.event === 'listening')
    traffic = setInterval(
      () => http.get({ port: e.port, path: '/pid', agent }, (r) => r.resume()).on('error', () => {}),
      1000 / rps,
    );
  if (e.event === 'fixture-shape') begun = e.at;
  if (e.event === 'fixture-gc' && e.kind === 'major' && begun) majors.push(e);
  if (e.event === 'worker:leak' && reportedS === undefined) reportedS = (Date.now() - begun) / 1000;
});
await new Promise((r) => setTimeout(r, 2000 + seconds * 1000));
clearInterval(traffic);
agent.destroy();
child.kill('SIGTERM');
const inWindow = majors.filter((g) => g.at - begun <= seconds * 1000);
const own = inWindow.filter((g) => !g.forced);
const forced = inWindow.filter((g) => g.forced);
const gaps = own.slice(1).map((g, i) => (g.at - own[i].at) / 1000);
const fmt = (xs) => (xs.length ? `${median(xs).toFixed(0)} / ${Math.max(...xs).toFixed(0)}` : '-');
console.log(
  '| shape | reported after (s) | V8 major GCs | gap between them, median / max (s) | forced GCs | forced pause, median / max (ms) |',
);
console.log('| --- | --- | --- | --- | --- | --- |');
console.log(
  `| ${shape} | ${reportedS === undefined ? `not in ${seconds} s` : reportedS.toFixed(1)} | ${own.length} | ${fmt(gaps)} | ${forced.length} | ${fmt(forced.map((g) => g.ms))} |`,
);
