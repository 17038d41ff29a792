// What a worker holds under a connection-per-request load: wrk -H 'Connection: close' against
// otel-cluster (bench/apps/hello.mjs, `os` strategy: Node's kernel-shared listening socket, 2
// workers, no standby) without and with UV_TCP_SINGLE_ACCEPT=1, interleaved per round. Every
// --sample-ms the ESTABLISHED connections on the port that each worker holds are counted (its fd
// socket inodes matched in `ss`; bench/proc-tcp.mjs), with those whose request is still unread
// (bytes in the receive queue: accepted by libuv's accept loop, not yet read by the event loop).
// A SIGKILL at a random instant breaks what one worker holds: the per-worker distribution is the
// expected loss per kill that bench/chaos.mjs samples a few times per run. No kills here, and the
// sampling costs both variants alike; req/s is wrk's over the sampled run. Also sampled: the
// shared listening socket's accept queue (connections no worker has accepted: a kill spares them).
//   node bench/accept-hold.mjs [--rounds 3] [--seconds 12] [--sample-ms 200] [--connections 50]
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { socketInodes } from './proc-tcp.mjs';
import { arg, freePort, median, waitForTcp } from './util.mjs';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const rounds = Number(arg('rounds', 3));
const seconds = Number(arg('seconds', 12));
const sampleMs = Number(arg('sample-ms', 200));
const connections = Number(arg('connections', 50));
const VARIANTS = { default: {}, 'UV_TCP_SINGLE_ACCEPT=1': { UV_TCP_SINGLE_ACCEPT: '1' } };
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const childrenOf = (pid) => {
  try {
    return readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim().split(/\s+/).filter(Boolean).map(Number);
  } catch {
    return [];
  }
};
const quantile = (xs, q) => {
  const s = [...xs].sort((a, b) => a - b);
  return s.length ? s[Math.min(s.length - 1, Math.floor(q * s.length))] : Number.NaN;
};

/** Per worker: [held, unread] now, from one `ss` listing of the port's ESTABLISHED connections. */
function sample(pids, port) {
  const inodes = pids.map(socketInodes);
  const out = execFileSync('ss', ['-tnHe', 'state', 'established', `( sport = :${port} )`], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  const counts = pids.map(() => [0, 0]);
  for (const line of out.split('\n')) {
    const ino = /\bino:(\d+)/.exec(line)?.[1];
    const i = ino ? inodes.findIndex((s) => s.has(ino)) : -1;
    if (i < 0) continue;
    counts[i][0]++;
    if (Number(line.trim().split(/\s+/)[0]) > 0) counts[i][1]++;
  }
  return counts;
}

/** Connections waiting in the listening socket's accept queue (its Recv-Q). */
function acceptQueue(port) {
  const out = execFileSync('ss', ['-tlnH', `( sport = :${port} )`], { encoding: 'utf8', timeout: 10_000 });
  return out
    .split('\n')
    .filter((l) => l.trim())
    .reduce((a, l) => a + Number(l.trim().split(/\s+/)[1]), 0);
}

const rows = [];
for (let r = 0; r < rounds; r++)
  for (let v = 0; v < 2; v++) {
    const name = Object.keys(VARIANTS)[(v + r) % 2];
    const port = await freePort();
    const env = {
      ...process.env,
      ...VARIANTS[name],
      PORT: String(port),
      STANDBY: '0',
      LB_STRATEGY: 'os',
      OTEL_CLUSTER_LOG_LEVEL: 'warn',
    };
    const child = spawn(process.execPath, [path.join(root, 'bench/apps/hello.mjs')], {
      env,
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const exited = new Promise((res) => child.once('exit', res));
    try {
      await waitForTcp(port);
      execFileSync('wrk', ['-t1', `-c${connections}`, '-d1s', `http://127.0.0.1:${port}/`], {
        stdio: 'ignore',
        timeout: 30_000,
      });
      const pids = childrenOf(child.pid);
      let out = '';
      const load = spawn(
        'wrk',
        ['-t1', `-c${connections}`, `-d${seconds}s`, '-H', 'Connection: close', `http://127.0.0.1:${port}/`],
        { timeout: (seconds + 30) * 1000 },
      );
      load.stdout.on('data', (d) => (out += d));
      const done = new Promise((res) => load.once('exit', res));
      let running = true;
      void done.then(() => (running = false));
      const held = [];
      const unread = [];
      const queued = [];
      await sleep(1000);
      // Bounded by wrk's -d and by count.
      for (let i = 0; running && i < (seconds * 1000) / sampleMs; i++) {
        for (const [h, u] of sample(pids, port)) held.push(h), unread.push(u);
        queued.push(acceptQueue(port));
        await sleep(sampleMs);
      }
      await done;
      const rps = Number(/Requests\/sec:\s+([\d.]+)/.exec(out)?.[1] ?? Number.NaN);
      rows.push({ name, round: r, rps, held, unread, queued });
      process.stderr.write(
        `round ${r + 1} ${name}: ${rps.toFixed(0)} req/s; held per worker mean ${(held.reduce((a, b) => a + b, 0) / held.length).toFixed(2)}, p95 ${quantile(held, 0.95)}, max ${Math.max(...held)} (${held.length} samples)\n`,
      );
    } finally {
      child.kill('SIGTERM');
      await exited;
    }
  }

const mean = (xs) => xs.reduce((a, b) => a + b, 0) / xs.length;
console.log(
  `\n${process.version}, ${os.cpus().length} cores (load average ${os.loadavg()[0].toFixed(2)} at the end), wrk -t1 -c${connections} -d${seconds}s -H 'Connection: close', a sample every ${sampleMs} ms, ${rounds} round(s)\n`,
);
console.log(
  '| variant | req/s (median; per round) | held per worker: mean, median, p95, max | unread of held (mean) | read, not yet answered (mean) | samples with more than 5 held | in the shared accept queue: mean, p95 |\n| --- | --- | --- | --- | --- | --- | --- |',
);
for (const name of Object.keys(VARIANTS)) {
  const xs = rows.filter((x) => x.name === name);
  const held = xs.flatMap((x) => x.held);
  const unread = xs.flatMap((x) => x.unread);
  const queued = xs.flatMap((x) => x.queued);
  console.log(
    `| ${name} | ${median(xs.map((x) => x.rps)).toFixed(0)} (${xs.map((x) => x.rps.toFixed(0)).join(', ')}) | ${mean(held).toFixed(2)}, ${median(held)}, ${quantile(held, 0.95)}, ${Math.max(...held)} | ${mean(unread).toFixed(2)} | ${(mean(held) - mean(unread)).toFixed(2)} | ${((100 * held.filter((h) => h > 5).length) / held.length).toFixed(1)}% | ${mean(queued).toFixed(1)}, ${quantile(queued, 0.95)} |`,
  );
}
const ratios = [];
for (let r = 0; r < rounds; r++) {
  const a = rows.find((x) => x.round === r && x.name !== 'default');
  const b = rows.find((x) => x.round === r && x.name === 'default');
  if (a && b) ratios.push(a.rps / b.rps);
}
console.log(
  `\nreq/s with UV_TCP_SINGLE_ACCEPT=1 / default, same round: ${median(ratios).toFixed(3)} (${ratios.map((x) => x.toFixed(3)).join(', ')})`,
);
