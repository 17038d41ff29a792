// The published package as a user gets it: `npm pack` of the built repo, installed into an empty
// project with only its declared dependencies (from npm's cache when it has them), then a library
// app (createServer, two workers, a plugin from `otel-cluster/plugin`) and `npx otel-cluster start`
// run from that project, answering real HTTP requests, and stopped by SIGTERM.
import { type ChildProcess, execFile, spawn } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startArgs } from '../helpers/cli.js';
import { killAll, type LogLine, ROOT, request } from '../helpers/cluster-process.js';

const run = promisify(execFile);
const npm = (args: string[], cwd: string) =>
  run('npm', [...args, '--no-audit', '--no-fund', '--loglevel=error'], { cwd, timeout: 240_000, maxBuffer: 2 ** 24 });

/** A process of the installed package, its JSON log lines (stderr) and every pid they name. */
class Started {
  readonly logs: LogLine[] = [];
  readonly pids = new Set<number>();
  stderr = '';
  readonly exited: Promise<{ code: number | null; signal: string | null }>;
  constructor(readonly child: ChildProcess) {
    this.pids.add(child.pid!);
    this.exited = new Promise((resolve) => child.once('exit', (code, signal) => resolve({ code, signal })));
    let buf = '';
    child.stderr!.on('data', (d: Buffer) => {
      this.stderr += d.toString();
      buf += d.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const log = JSON.parse(line) as LogLine;
          this.logs.push(log);
          for (const k of ['pid', 'primaryPid']) if (typeof log[k] === 'number') this.pids.add(log[k] as number);
        } catch {
          // not a log line
        }
      }
    });
  }
  async ready(timeoutMs = 60_000): Promise<LogLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const l = this.logs.find((x) => x.msg === 'cluster ready');
      if (l) return l;
      if (this.child.exitCode !== null || Date.now() > deadline)
        throw new Error(`no 'cluster ready' (exit ${this.child.exitCode}): ${this.stderr.slice(-2000)}`);
      await new Promise((r) => setTimeout(r, 50));
    }
  }
}

const APP = `import { createServer } from 'otel-cluster';
import { definePlugin } from 'otel-cluster/plugin';

const seen = definePlugin({ name: 'packed-plugin', worker: (ctx) => ctx.onResponse?.(() => {}) });
const app = createServer({
  cluster: { enabled: true, config: { workers: 2 } },
  admin: { host: '127.0.0.1', port: 0 },
  plugins: [seen],
});
app.get('/', (_req, res) => res.end(JSON.stringify({ pid: process.pid })));
await app.listen(0, '127.0.0.1');
`;
const CLI_APP = `const http = require('node:http');
http.createServer((_req, res) => res.end(JSON.stringify({ pid: process.pid }))).listen(Number(process.env.PORT) || 3000);
`;

describe('the npm pack tarball, installed into an empty project', () => {
  let dir: string;
  let project: string;
  const started: Started[] = [];
  const start = (cmd: string, args: string[]) => {
    const s = new Started(
      spawn(cmd, args, {
        cwd: project,
        env: { ...process.env, OTEL_CLUSTER_LOG_LEVEL: 'info' },
        stdio: ['ignore', 'ignore', 'pipe'],
      }),
    );
    started.push(s);
    return s;
  };

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'otel-cluster-pack-'));
    // The repo is built before the tests (npm test's pretest): no prepare script here.
    const packed = JSON.parse(
      (await npm(['pack', '--json', '--ignore-scripts', '--pack-destination', dir], ROOT)).stdout,
    ) as { filename: string; files: { path: string }[] }[];
    const files = packed[0]!.files.map((f) => f.path);
    // The bundle and the declarations: no second JavaScript tree (dist/src/**/*.js, dist/otel, ...).
    expect(files).toEqual(
      expect.arrayContaining([
        'package.json',
        'dist/bundle/index.js',
        'dist/bundle/plugin.js',
        'dist/bundle/cli/main.js',
        'dist/src/index.d.ts',
        'dist/src/plugin-api/index.d.ts',
      ]),
    );
    expect(files.filter((f) => f.endsWith('.js') && !f.startsWith('dist/bundle/'))).toEqual([]);
    expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
    project = path.join(dir, 'project');
    mkdirSync(project);
    writeFileSync(
      path.join(project, 'package.json'),
      JSON.stringify({ name: 'packed-app', private: true, type: 'module' }),
    );
    writeFileSync(path.join(project, 'app.mjs'), APP);
    writeFileSync(path.join(project, 'server.cjs'), CLI_APP);
    await npm(['install', '--prefer-offline', '--ignore-scripts', path.join(dir, packed[0]!.filename)], project);
  }, 300_000);

  afterAll(async () => {
    for (const s of started) await killAll(s.pids, s.exited);
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('installs the declared dependencies only, and the package is the bundle', () => {
    const otel = readdirSync(path.join(project, 'node_modules/@opentelemetry'));
    expect(otel).toContain('api');
    // Bundled, so not a dependency: nothing installs it.
    expect(otel).not.toContain('sdk-node');
  });

  // The published declarations as a TypeScript user compiles against them: the built-in plugins'
  // events (declared by each plugin on PluginEventMap) and the plugin entry resolve under each
  // moduleResolution a project may use (node10 through typesVersions).
  it.each(['node16', 'bundler', 'node10'])(
    'type-checks a consumer with moduleResolution %s',
    async (resolution) => {
      const file = path.join(project, `consumer-${resolution}.ts`);
      writeFileSync(
        file,
        `import { createServer } from 'otel-cluster';
import { definePlugin } from 'otel-cluster/plugin';
const app = createServer({ cluster: { enabled: true, config: { workers: 2 } }, plugins: [definePlugin({ name: 'typed' })] });
app.on('worker:leak', (e) => e.growthBytesPerMin.toFixed());
app.on('cluster:scaled', (e) => e.outcome.toUpperCase());
app.on('worker:unhealthy', (e) => e.reasons.join());
`,
      );
      const module = resolution === 'node16' ? 'node16' : resolution === 'bundler' ? 'esnext' : 'commonjs';
      const args = [
        '--noEmit',
        '--strict',
        '--skipLibCheck',
        '--target',
        'es2022',
        '--module',
        module,
        '--moduleResolution',
        resolution,
        '--types',
        'node',
        '--typeRoots',
        path.join(ROOT, 'node_modules/@types'),
        file,
      ];
      if (resolution === 'node10') args.push('--ignoreDeprecations', '5.0');
      const r = await run(process.execPath, [path.join(ROOT, 'node_modules/typescript/bin/tsc'), ...args], {
        cwd: project,
      }).catch((err: { stdout: string }) => ({ stdout: err.stdout }));
      expect(r.stdout).toBe('');
    },
    120_000,
  );

  it('an app: createServer with two workers answers, serves /metrics, stops on SIGTERM', async () => {
    const s = start(process.execPath, ['app.mjs']);
    const ready = await s.ready();
    const port = ready.port as number;
    const pids = new Set<number>();
    for (let i = 0; i < 40 && pids.size < 2; i++) {
      const r = await request(port, '/');
      expect(r.status).toBe(200);
      pids.add((JSON.parse(r.body) as { pid: number }).pid);
    }
    expect(pids.size).toBe(2);
    const admin = (ready.admin as { port: number }).port;
    let metrics = await request(admin, '/metrics');
    for (let i = 0; i < 100 && metrics.status === 503; i++) {
      await new Promise((r) => setTimeout(r, 100));
      metrics = await request(admin, '/metrics');
    }
    expect(metrics.status).toBe(200);
    expect(metrics.body).toContain('http_server_request_duration');
    s.child.kill('SIGTERM');
    expect(await s.exited).toEqual({ code: 0, signal: null });
  }, 90_000);

  it('npx otel-cluster start server.cjs -i 2 answers on both workers and stops on SIGTERM', async () => {
    const s = start('npx', [
      '--no-install',
      'otel-cluster',
      'start',
      'server.cjs',
      ...startArgs(2, 'packed'),
      '--runtime-dir',
      path.join(dir, 'rt'),
    ]);
    const ready = await s.ready();
    const pids = new Set<number>();
    for (let i = 0; i < 40 && pids.size < 2; i++) {
      const r = await request(ready.port as number, '/');
      expect(r.status).toBe(200);
      pids.add((JSON.parse(r.body) as { pid: number }).pid);
    }
    expect(pids.size).toBe(2);
    // The primary is npx's child: stop it, and npx ends with it.
    process.kill((ready.primaryPid ?? ready.pid) as number, 'SIGTERM');
    expect((await s.exited).code).toBe(0);
  }, 90_000);
});
