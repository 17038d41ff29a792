// Memory: RSS of the primary and of each worker after a short load (2000 requests over fresh
// connections, then 2 s idle), for a hello-world app on bare node:cluster and on otel-cluster with
// telemetry on and off, and the price of one standby worker: otel-cluster with 2 workers and
// `standbyWorkers: 1`, where the standby's RSS, USS and idle CPU (utime+stime from /proc/<pid>/stat over
// --idle s after the load, in ms of CPU per second) sit beside a serving worker's of the same run.
// Medians over the runs; setups alternate.
//   node bench/memory.mjs [--runs 3] [--requests 2000] [--idle 20]
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { get, rss, SETUPS, start, tree } from './footprint-util.mjs';
import { arg, freePort, jsonEvents, median } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const runs = Number(arg('runs', 3));
const requests = Number(arg('requests', 2000));
const idleS = Number(arg('idle', 20));
const STANDBY = 'otel-cluster, standby 1';
const TICK_MS = 10; // 1000 / CLK_TCK (100 on Linux)
const names = [...Object.keys(SETUPS), STANDBY];
const results = Object.fromEntries(names.map((n) => [n, { primary: [], worker: [] }]));
const price = { standbyRss: [], servingRss: [], standbyUss: [], servingUss: [], standbyCpu: [], servingCpu: [] };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

/** CPU time (user + system) a process has used, in ms; undefined if it is gone. */
function cpuMs(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'latin1');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return (Number(f[11]) + Number(f[12])) * TICK_MS; // utime, stime (fields 14 and 15)
  } catch {
    return undefined;
  }
}

/**
 * Unique set size in bytes (Private_Clean + Private_Dirty: what the host gets back when the process
 * ends; RSS also counts the node binary's pages, shared with every node process), or undefined.
 */
function uss(pid) {
  try {
    const text = readFileSync(`/proc/${pid}/smaps_rollup`, 'latin1');
    const kb = (k) => Number(new RegExp(`^${k}:\\s+(\\d+) kB`, 'm').exec(text)?.[1]);
    const v = (kb('Private_Clean') + kb('Private_Dirty')) * 1024;
    return Number.isFinite(v) ? v : undefined;
  } catch {
    return undefined;
  }
}

/** bench/apps/hello.mjs with a standby; `standby()` and `serving()` read its printed events. */
async function startWithStandby() {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(root, 'bench/apps/hello.mjs')], {
    env: {
      ...process.env,
      OTEL_CLUSTER_LOG_LEVEL: 'warn',
      WORKERS: '2',
      LB_STRATEGY: 'os',
      STANDBY: '1',
      PORT: String(port),
    },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const exited = new Promise((r) => child.once('exit', r));
  const { events } = jsonEvents(child.stdout);
  const pids = (add, remove) => {
    const set = new Set();
    for (const e of events) {
      for (const w of e.workers ?? []) if (add(w)) set.add(w.pid);
      if (e.event && add(e)) set.add(e.pid);
      if (e.event === 'worker:exit' || (e.event && remove(e))) set.delete(e.pid);
    }
    return [...set];
  };
  return {
    child,
    port,
    standby: () =>
      pids(
        (e) => e.state === 'standby' || e.event === 'worker:standby',
        (e) => e.event === 'worker:activated',
      ),
    serving: () =>
      pids(
        (e) => e.state === 'ready' || e.event === 'worker-listening',
        () => false,
      ),
    stop: async () => {
      if (child.exitCode === null) child.kill('SIGTERM');
      await exited;
    },
  };
}

for (let r = 0; r < runs; r++) {
  for (const name of names) {
    const app = name === STANDBY ? await startWithStandby() : await start(name);
    for (let i = 0; i < 400 && (await get(app.port)) !== 200; i++) await sleep(25);
    // Bounded: 10 s for the standby to report ready.
    if (name === STANDBY) for (let i = 0; i < 400 && app.standby().length === 0; i++) await sleep(25);
    for (let i = 0; i < requests; i += 20) await Promise.all(Array.from({ length: 20 }, () => get(app.port)));
    await sleep(2000);
    const kids = tree(app.child.pid);
    const standby = name === STANDBY ? app.standby().filter((p) => kids.includes(p)) : [];
    const workers = kids
      .filter((p) => !standby.includes(p))
      .map(rss)
      .filter((x) => x !== undefined);
    results[name].primary.push(rss(app.child.pid));
    results[name].worker.push(median(workers));
    let line = `run ${r + 1} ${name}: primary ${(rss(app.child.pid) / 2 ** 20).toFixed(1)} MiB, workers ${workers.map((x) => (x / 2 ** 20).toFixed(1)).join(' ')} MiB`;
    if (name === STANDBY) {
      if (standby.length !== 1) throw new Error(`expected one standby, found ${standby.length}`);
      const serving = app.serving().filter((p) => kids.includes(p));
      const cpu0 = [...serving, ...standby].map(cpuMs);
      await sleep(idleS * 1000);
      const cpu1 = [...serving, ...standby].map(cpuMs);
      const perS = cpu1.map((c, i) => (c - cpu0[i]) / idleS);
      price.standbyRss.push(rss(standby[0]));
      price.standbyUss.push(uss(standby[0]));
      price.servingUss.push(median(serving.map(uss).filter((x) => x !== undefined)));
      price.servingRss.push(median(serving.map(rss).filter((x) => x !== undefined)));
      price.standbyCpu.push(perS.at(-1));
      price.servingCpu.push(median(perS.slice(0, -1)));
      line += `; standby ${(rss(standby[0]) / 2 ** 20).toFixed(1)} MiB; idle CPU over ${idleS} s (ms/s): serving ${perS
        .slice(0, -1)
        .map((x) => x.toFixed(1))
        .join(' ')}, standby ${perS.at(-1).toFixed(1)}`;
    }
    console.error(line);
    await app.stop();
  }
}

const mib = (x) => (x / 2 ** 20).toFixed(1);
const signed = (x) => `${x >= 0 ? '+' : ''}${mib(x)}`;
const base = results['node:cluster'];
console.log(`\n### Memory after ${requests} requests, ${new Date().toISOString().slice(0, 10)}\n`);
console.log(
  `Command: \`node bench/memory.mjs --runs ${runs} --requests ${requests} --idle ${idleS}\` (node ${process.versions.node}; RSS from /proc; medians).\n`,
);
console.log(
  '| setup | worker RSS MiB (serving) | vs node:cluster worker | primary RSS MiB | vs node:cluster primary |\n| --- | --- | --- | --- | --- |',
);
for (const [name, r] of Object.entries(results))
  console.log(
    `| ${name} | ${mib(median(r.worker))} | ${signed(median(r.worker) - median(base.worker))} | ${mib(median(r.primary))} | ${signed(median(r.primary) - median(base.primary))} |`,
  );
console.log(
  `\nThe price of one standby (${STANDBY}: the standby and the serving workers of the same runs; idle CPU over ${idleS} s after the load):\n`,
);
console.log('| process | RSS MiB | USS MiB (private pages) | idle CPU (ms per s) |\n| --- | --- | --- | --- |');
console.log(
  `| serving worker (median) | ${mib(median(price.servingRss))} | ${mib(median(price.servingUss))} | ${median(price.servingCpu).toFixed(1)} |`,
);
console.log(
  `| standby | ${mib(median(price.standbyRss))} (${(median(price.standbyRss) / median(price.servingRss)).toFixed(2)}x) | ${mib(median(price.standbyUss))} (${(median(price.standbyUss) / median(price.servingUss)).toFixed(2)}x) | ${median(price.standbyCpu).toFixed(1)} (${(median(price.standbyCpu) / median(price.servingCpu)).toFixed(2)}x) |`,
);
