// The control channel and the commands that use it, against real clusters: `otel-cluster start`
// of an unmodified app, and a createServer app with the `control` option.
import { spawn } from 'node:child_process';
import {
  chmodSync,
  existsSync,
  mkdtempSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CLI, CLI_FIXTURES, CliCluster, runCli, startArgs, tempRuntimeDir } from '../helpers/cli.js';
import { ClusterProcess, isAlive, request, underLoad, waitGone } from '../helpers/cluster-process.js';

const rt = tempRuntimeDir();
afterAll(() => rt.remove());
const at = ['--runtime-dir', rt.dir];

/** A node binary another user may execute (the CI's extra Node versions sit in private temp dirs). */
function nodeOthersCanRun(): string {
  const runnable = (file: string) => {
    if (!existsSync(file)) return false;
    for (let p = realpathSync(file); p !== '/'; p = path.dirname(p)) if ((statSync(p).mode & 0o001) === 0) return false;
    return true;
  };
  return [process.execPath, '/usr/local/bin/node', '/usr/bin/node'].find(runnable) ?? process.execPath;
}

interface StatusJson {
  name: string;
  pid: number;
  size: number;
  workers: {
    slot: number;
    pid: number;
    state: string;
    startedAt: number;
    readyAt: number;
    restarts: number;
    health: string;
    cpuPct: number | null;
  }[];
}

describe('otel-cluster commands against a running `start`', () => {
  let c: CliCluster;
  let port: number;
  beforeAll(async () => {
    c = new CliCluster('http.cjs', [...startArgs(2, 'ctl'), '--config', 'scalable.config.json', ...at]);
    ({ port } = await c.ready());
  });
  afterAll(() => c.cleanup());

  it('status finds the one cluster started from this directory without --name, as a table or JSON', async () => {
    const table = await runCli(['status', ...at]);
    expect(table.code, table.stderr).toBe(0);
    expect(table.stdout).toMatch(/ctl \(primary pid \d+\): 2 of 2 workers ready/);
    expect(table.stdout).toMatch(/slot\s+pid\s+state\s+uptime\s+restarts\s+cpu %\s+rss\s+req\/s\s+p95 ms\s+health/);
    const json = await runCli(['status', '--json', ...at]);
    const s = JSON.parse(json.stdout) as StatusJson;
    expect(s.name).toBe('ctl');
    expect(s.pid).toBe(c.child.pid);
    expect(s.workers.map((w) => w.state)).toEqual(['ready', 'ready']);
    // From another directory there is nothing to find.
    const elsewhere = await runCli(['status', ...at], { cwd: os.tmpdir() });
    expect(elsewhere.code).toBe(3);
    expect(elsewhere.stderr).toContain('CLUSTER_ERR_CONTROL_UNREACHABLE');
  });

  it('the control socket is 0600 from birth in a 0700 directory it made, and another user cannot connect', async () => {
    const socket = path.join(rt.dir, 'ctl.sock');
    expect(statSync(socket).mode & 0o777).toBe(0o600);
    // Made by ensurePrivateDir (the test made only its parent).
    expect(statSync(rt.dir).mode & 0o777).toBe(0o700);
    if (process.getuid?.() !== 0) return; // only root can run a process as another user here
    // Let others traverse both directories: the socket's own mode must refuse them.
    chmodSync(rt.parent, 0o711);
    chmodSync(rt.dir, 0o711);
    try {
      const probe = `require('node:net').connect(${JSON.stringify(socket)}).on('connect',()=>{console.log('connected');process.exit(0)}).on('error',(e)=>{console.log(e.code);process.exit(0)})`;
      const out = await new Promise<string>((resolve) => {
        const p = spawn(nodeOthersCanRun(), ['-e', probe], { uid: 65534, gid: 65534, cwd: '/' });
        let s = '';
        p.stdout.on('data', (d: Buffer) => (s += d.toString()));
        p.on('exit', () => resolve(s.trim()));
        p.on('error', (e: NodeJS.ErrnoException) => resolve(`probe did not start: ${e.code}`));
      });
      expect(out).toBe('EACCES');
    } finally {
      chmodSync(rt.dir, 0o700);
      chmodSync(rt.parent, 0o700);
    }
  });

  it('a second start of the same name refuses (exit 4) and leaves nothing running', async () => {
    const second = new CliCluster('http.cjs', ['-i', '1', '--port', '0', '--admin-port', '0', '--name', 'ctl', ...at]);
    const { code } = await second.exited;
    expect(code).toBe(4);
    expect(second.stderr).toContain("'ctl' is already running");
    expect(second.stderr).toContain('CLUSTER_ERR_CONTROL_IN_USE');
    expect(await waitGone(second.pids, 5000)).toEqual([]);
    // The first is untouched.
    expect((await runCli(['status', '--name', 'ctl', ...at])).code).toBe(0);
  });

  it('reload under load: every worker replaced, zero failed requests', async () => {
    const before = (
      JSON.parse((await runCli(['status', '--json', '--name', 'ctl', ...at])).stdout) as StatusJson
    ).workers.map((w) => w.pid);
    const { value: reload, result } = await underLoad(port, () => runCli(['reload', '--json', '--name', 'ctl', ...at]));
    expect(reload.code, reload.stderr).toBe(0);
    const r = JSON.parse(reload.stdout) as { before: { pid: number }[]; after: { pid: number }[]; durationMs: number };
    expect(r.before.map((w) => w.pid).sort()).toEqual([...before].sort());
    expect(r.after).toHaveLength(2);
    for (const w of r.after) expect(before).not.toContain(w.pid);
    expect(result.ok).toBeGreaterThan(50);
    expect(result.failed, result.errors.slice(0, 5).join('; ')).toBe(0);
  });

  it('scale 3 then scale 1', async () => {
    const up = await runCli(['scale', '3', '--json', '--name', 'ctl', ...at]);
    expect(up.code, up.stderr).toBe(0);
    const s3 = JSON.parse(up.stdout) as StatusJson;
    expect(s3.size).toBe(3);
    expect(s3.workers.filter((w) => w.state === 'ready')).toHaveLength(3);
    const down = await runCli(['scale', '1', '--name', 'ctl', ...at]);
    expect(down.code, down.stderr).toBe(0);
    expect(down.stdout).toContain('scaled to 1 workers');
    const s1 = JSON.parse((await runCli(['status', '--json', '--name', 'ctl', ...at])).stdout) as StatusJson;
    expect(s1.workers.map((w) => w.state)).toEqual(['ready']);
    expect((await request(port, '/')).status).toBe(200);
  });

  it('stop: the cluster closes cleanly and no process is left', async () => {
    const stop = await runCli(['stop', '--name', 'ctl', ...at]);
    expect(stop.code, stop.stderr).toBe(0);
    expect(stop.stdout).toMatch(/stopped \(primary pid \d+\)/);
    expect((await c.exited).code).toBe(0);
    expect(await waitGone(c.pids, 5000)).toEqual([]);
    const after = await runCli(['status', '--name', 'ctl', ...at]);
    expect(after.code).toBe(3);
  });
});

describe('manual scaling as PM2 users expect', () => {
  it('`start -i 1` then `scale` past the core count: scaled, with a warning, not refused', async () => {
    // No config file: auto-scaling is off and maxWorkers is not given.
    const cores = os.availableParallelism();
    const c = new CliCluster('http.cjs', [...startArgs(1, 'past-cores'), ...at]);
    try {
      await c.ready();
      const up = await runCli(['scale', String(cores + 1), '--json', '--name', 'past-cores', ...at]);
      expect(up.code, up.stderr).toBe(0);
      const s = JSON.parse(up.stdout) as StatusJson;
      expect(s.size).toBe(cores + 1);
      expect(s.workers.filter((w) => w.state === 'ready')).toHaveLength(cores + 1);
      const warning = await c.waitForLog(
        (l) => typeof l.msg === 'string' && l.msg.startsWith(`scaling to ${cores + 1} workers on ${cores} cores`),
        5000,
        'the warning',
      );
      expect(warning.level).toBe(40);
      // The safety cap still refuses, naming what bounds it.
      const tooMany = await runCli(['scale', '1000', '--name', 'past-cores', ...at]);
      expect(tooMany.code).not.toBe(0);
      expect(tooMany.stderr).toMatch(
        /expected an integer from 1 to \d+ \(the upper bound: without autoScaling\.maxWorkers, the largest of 64, twice the cores and workers\)/,
      );
    } finally {
      await c.cleanup();
    }
  }, 60_000);
});

describe('output', () => {
  it('on a terminal, start prints readable lines and how to reach the cluster; JSON otherwise', async () => {
    // `script` runs the command on a pseudo-terminal.
    const cmd = `${process.execPath} ${CLI} start http.cjs -i 1 --port 0 --admin-port 0 --name tty --runtime-dir ${rt.dir}`;
    const child = spawn('script', ['-qfec', cmd, '/dev/null'], {
      cwd: CLI_FIXTURES,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    const ready = new Promise<void>((resolve) =>
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('otel-cluster status --name tty')) resolve();
      }),
    );
    const exited = new Promise((r) => child.once('exit', r));
    try {
      await Promise.race([ready, exited]);
      const plain = out.replace(new RegExp(`${String.fromCharCode(27)}\\[[0-9;]*m`, 'g'), '');
      expect(plain).toMatch(/\d\d:\d\d:\d\d\.\d{3} INFO {2}primary +cluster ready {2}host=:: port=\d+ workers=1/);
      expect(plain).toMatch(/\d\d:\d\d:\d\d\.\d{3} INFO {2}primary +worker ready {2}startupMs=\d+/);
      expect(plain).toMatch(/tty: 1 workers serving http:\/\/localhost:\d+, status page http:\/\/127\.0\.0\.1:\d+\//);
      expect(plain).not.toContain('{"level"');
      expect((await runCli(['stop', '--name', 'tty', ...at])).code).toBe(0);
    } finally {
      child.kill('SIGKILL');
      await exited;
    }
  });

  it('an admin server bound beyond loopback without a token is logged as a warning', async () => {
    const cp = new ClusterProcess('app.mjs', { WORKERS: '1', ADMIN_HOST: '0.0.0.0' });
    try {
      await cp.listening();
      const warn = await cp.waitForLog(
        (l) => typeof l.msg === 'string' && l.msg.startsWith('admin server bound beyond loopback'),
      );
      expect(warn).toMatchObject({ level: 40, host: '0.0.0.0', token: 'none' });
    } finally {
      await cp.cleanup();
    }
  });
});

describe('the app inside the worker', () => {
  it("runs the app's own SIGTERM shutdown at the end of each drain (reload), and hands upgrades to it", async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oc-app-'));
    const file = path.join(dir, 'shutdown.log');
    writeFileSync(file, '');
    const c = new CliCluster(
      'lifecycle.cjs',
      ['-i', '2', '--port', '0', '--admin-port', '0', '--name', 'life', ...at],
      { env: { SHUTDOWN_FILE: file, WS: '1' } },
    );
    try {
      const { port } = await c.ready();
      const before = (
        JSON.parse((await runCli(['status', '--json', '--name', 'life', ...at])).stdout) as StatusJson
      ).workers.map((w) => w.pid);
      const reload = await runCli(['reload', '--name', 'life', ...at]);
      expect(reload.code, reload.stderr).toBe(0);
      // Each old worker ran the app's handler: its server.close callback (without an error), then its own exit.
      expect(readFileSync(file, 'utf8').trim().split('\n').sort()).toEqual(before.map((pid) => `${pid} closed`).sort());
      // An upgrade reaches the app's 'upgrade' listener.
      const upgraded = await new Promise<number | undefined>((resolve) => {
        const req = http.request({ port, host: '127.0.0.1', headers: { connection: 'upgrade', upgrade: 'echo' } });
        req.on('upgrade', (res, socket) => (socket.destroy(), resolve(res.statusCode)));
        req.on('response', (res) => (res.resume(), resolve(res.statusCode)));
        req.on('error', () => resolve(undefined));
        req.end();
      });
      expect(upgraded).toBe(101);
      expect((await runCli(['stop', '--name', 'life', ...at])).code).toBe(0);
    } finally {
      await c.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('an app without an upgrade listener answers an Upgrade request as a plain one, as Node does', async () => {
    const c = new CliCluster('koa.mjs', [...startArgs(1, 'plain-upgrade'), ...at]);
    try {
      const { port } = await c.ready();
      const r = await request(port, '/', false, 5000, { connection: 'upgrade', upgrade: 'h2c' });
      expect(r.status).toBe(200);
      expect(JSON.parse(r.body)).toMatchObject({ framework: 'koa' });
      expect((await runCli(['stop', '--name', 'plain-upgrade', ...at])).code).toBe(0);
    } finally {
      await c.cleanup();
    }
  });
});

describe('stale sockets, bad input, exit codes', () => {
  it('two starts of one name at once: one serves, the other refuses with exit 4', async () => {
    const args = ['-i', '1', '--port', '0', '--admin-port', '0', '--name', 'race', ...at];
    const a = new CliCluster('http.cjs', args);
    const b = new CliCluster('http.cjs', args);
    try {
      const outcomes = await Promise.all(
        [a, b].map((c) => Promise.race([c.ready().then(() => 'ready'), c.exited.then(({ code }) => `exit ${code}`)])),
      );
      expect(outcomes.sort()).toEqual(['exit 4', 'ready']);
      expect((await runCli(['stop', '--name', 'race', ...at])).code).toBe(0);
    } finally {
      await a.cleanup();
      await b.cleanup();
    }
  });

  it('a socket left by a killed primary is replaced by the next start', async () => {
    const first = new CliCluster('http.cjs', ['-i', '1', '--port', '0', '--admin-port', '0', '--name', 'stale', ...at]);
    try {
      await first.ready();
      process.kill(first.child.pid!, 'SIGKILL');
      await first.exited;
    } finally {
      await first.cleanup();
    }
    const second = new CliCluster('http.cjs', [...startArgs(1, 'stale'), ...at]);
    try {
      await second.ready();
      expect(second.logs.some((l) => l.msg === 'replacing a stale control socket (its primary is gone)')).toBe(true);
      expect((await runCli(['stop', '--name', 'stale', ...at])).code).toBe(0);
    } finally {
      await second.cleanup();
    }
  });

  it('a bad config file: the schema error names the file (exit 2), and nothing starts', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oc-cfg-'));
    try {
      writeFileSync(
        path.join(dir, 'otel-cluster.config.json'),
        JSON.stringify({ cluster: { workers: 2, procesManagement: {} } }),
      );
      writeFileSync(
        path.join(dir, 'app.cjs'),
        "require('node:http').createServer((q, s) => s.end('x')).listen(process.env.PORT)",
      );
      const bad = new CliCluster('app.cjs', ['--port', '0', '--admin-port', '0', ...at], { cwd: dir });
      expect((await bad.exited).code).toBe(2);
      expect(bad.stderr).toContain('otel-cluster.config.json: invalid otel-cluster options');
      expect(bad.stderr).toContain('procesManagement');
      expect(bad.stderr).toContain('CLUSTER_ERR_CONFIG_UNKNOWN_KEY');
      expect(await waitGone(bad.pids, 5000)).toEqual([]);

      writeFileSync(path.join(dir, 'broken.config.mjs'), 'export default { cluster: { workers: 2 ');
      const broken = await runCli(['start', 'app.cjs', '--config', 'broken.config.mjs', '--port', '0', ...at], {
        cwd: dir,
      });
      expect(broken.code).toBe(2);
      expect(broken.stderr).toContain('broken.config.mjs: could not load');
      expect(broken.stderr).toContain('CLUSTER_ERR_CONFIG_FILE');
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('usage errors exit 2 with the usage text; commands without a cluster exit 3', async () => {
    const unknown = await runCli(['frobnicate']);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toContain("unknown command 'frobnicate'");
    expect(unknown.stderr).toContain('usage:');
    const flag = await runCli(['status', '--port', '3']);
    expect(flag.code).toBe(2);
    expect(flag.stderr).toContain('--port does not go with status');
    const scale = await runCli(['scale', 'lots']);
    expect(scale.code).toBe(2);
    const none = await runCli(['stop', '--name', 'nothing-here', ...at]);
    expect(none.code).toBe(3);
    expect(none.stderr).toContain('CLUSTER_ERR_CONTROL_UNREACHABLE');
  });
});

describe('a createServer app with the control option, and the admin token', () => {
  let cp: ClusterProcess;
  let admin: { port: number };
  const token = 'test-token-0123456789abcdef';
  beforeAll(async () => {
    cp = new ClusterProcess('app.mjs', { CONTROL_NAME: 'lib', CONTROL_DIR: rt.dir, ADMIN_TOKEN: token });
    ({ admin } = await cp.listening());
  });
  afterAll(() => cp.cleanup());

  it('status --json lists the workers getWorkers() returns', async () => {
    const fromApi = (await cp.command('workers')).workers as {
      slot: number;
      pid: number;
      state: string;
      startedAt: number;
      readyAt: number;
      restarts: number;
    }[];
    const s = JSON.parse((await runCli(['status', '--json', '--name', 'lib', ...at])).stdout) as StatusJson;
    const pick = (
      w: Pick<StatusJson['workers'][number], 'slot' | 'pid' | 'state' | 'startedAt' | 'readyAt' | 'restarts'>,
    ) => ({
      slot: w.slot,
      pid: w.pid,
      state: w.state,
      startedAt: w.startedAt,
      readyAt: w.readyAt,
      restarts: w.restarts,
    });
    expect(s.workers.map(pick)).toEqual(fromApi.map(pick));
    expect(s.pid).toBe(cp.child.pid);
  });

  it('the admin token: 401 without it on everything but /livez and /readyz', async () => {
    for (const p of ['/metrics', '/health', '/status', '/', '/events'])
      expect((await request(admin.port, p)).status, p).toBe(401);
    expect(
      (await request(admin.port, '/metrics', false, 5000, { authorization: 'Bearer wrong-token-0123456789' })).status,
    ).toBe(401);
    expect((await request(admin.port, '/livez')).status).toBe(200);
    expect((await request(admin.port, '/readyz')).status).toBe(200);
    const ok = await request(admin.port, '/metrics', false, 5000, { authorization: `Bearer ${token}` });
    expect(ok.status).toBe(200);
    expect(ok.body).toContain('cluster_workers');
    // A browser: ?token= once sets an HttpOnly cookie and redirects to the bare URL.
    const login = await request(admin.port, `/?token=${token}`);
    expect(login.status).toBe(303);
    const cookie = String(login.headers['set-cookie']).split(';')[0]!;
    expect(String(login.headers['set-cookie'])).toContain('HttpOnly');
    const page = await request(admin.port, '/', false, 5000, { cookie });
    expect(page.status).toBe(200);
    expect(page.body).toContain('<html');
    // A malformed cookie is a wrong one, not a crash of the primary.
    expect((await request(admin.port, '/metrics', false, 5000, { cookie: 'otel_cluster_admin=%' })).status).toBe(401);
    expect((await request(admin.port, '/livez')).status).toBe(200);
  });

  it('bound to loopback, it answers only requests for a local name (DNS rebinding), probes excepted', async () => {
    const auth = { authorization: `Bearer ${token}` };
    expect((await request(admin.port, '/status', false, 5000, { ...auth, host: 'attacker.example' })).status).toBe(403);
    expect(
      (await request(admin.port, '/status', false, 5000, { ...auth, host: `localhost:${admin.port}` })).status,
    ).toBe(200);
    expect((await request(admin.port, '/livez', false, 5000, { host: 'attacker.example' })).status).toBe(200);
  });

  it('stop through the control socket closes a library app as SIGTERM would', async () => {
    const pids = [...cp.pids];
    const stop = await runCli(['stop', '--name', 'lib', ...at]);
    expect(stop.code, stop.stderr).toBe(0);
    expect((await cp.exited).code).toBe(0);
    expect(await waitGone(pids, 5000)).toEqual([]);
    expect(pids.some(isAlive)).toBe(false);
  });
});

describe('a stop sent while a SIGTERM shutdown is under way', () => {
  it('joins that shutdown and gets its reply (exit 0); nothing is left running', async () => {
    // An app holding one response open: the shutdown lasts until the test lets it go, so the stop
    // deterministically arrives while the primary is shutting down.
    const dir = mkdtempSync(path.join(os.tmpdir(), 'oc-hold-'));
    writeFileSync(
      path.join(dir, 'hold.cjs'),
      "require('node:http').createServer((q, s) => (q.url === '/hold' ? s.writeHead(200).write('holding\\n') : s.end('ok'))).listen(process.env.PORT)",
    );
    const c = new CliCluster('hold.cjs', ['-i', '1', '--port', '0', '--admin-port', '0', '--name', 'sigstop', ...at], {
      cwd: dir,
    });
    let held: http.ClientRequest | undefined;
    try {
      const { port } = await c.ready();
      await new Promise<void>((resolve, reject) => {
        held = http.get({ port, host: '127.0.0.1', path: '/hold', agent: false }, (res) =>
          res.once('data', () => resolve()),
        );
        held.on('error', reject);
      });
      process.kill(c.child.pid!, 'SIGTERM');
      await c.waitForLog((l) => l.msg === 'signal received: graceful shutdown');
      const stopping = runCli(['stop', '--name', 'sigstop', ...at]);
      // The primary took the stop (or the stop already ended, which is the failure to show).
      const first = await Promise.race([
        c.waitForLog((l) => l.msg === 'control command' && l.cmd === 'stop').then(() => 'taken'),
        stopping,
      ]);
      expect(
        first,
        typeof first === 'string' ? '' : `stop ended before the primary took it: ${JSON.stringify(first)}`,
      ).toBe('taken');
      held!.destroy(); // the worker's drain ends, and with it the shutdown
      const stop = await stopping;
      expect(stop.code, stop.stderr).toBe(0);
      expect(stop.stdout).toMatch(new RegExp(`stopped \\(primary pid ${c.child.pid}\\)`));
      expect((await c.exited).code).toBe(0);
      expect(await waitGone(c.pids, 5000)).toEqual([]);
    } finally {
      held?.destroy();
      await c.cleanup();
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
