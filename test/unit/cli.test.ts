import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../../src/cli/args.js';
import { appName, type CliPlan, cliServerOptions, NO_BRIDGE } from '../../src/cli/cli-options.js';
import { findConfigFile, loadConfigFile } from '../../src/cli/config-file.js';
import { findInterpreter, notFound } from '../../src/cli/interpreter.js';
import { parseListenArgs } from '../../src/cli/listen-bridge.js';
import { humanDuration, statusTable } from '../../src/cli/status-table.js';
import { parseControlRequest } from '../../src/control/protocol.js';
import { controlPaths, ensurePrivateDir, runtimeDir } from '../../src/control/runtime-dir.js';
import {
  CliUsageError,
  ConfigFileError,
  ControlProtocolError,
  ControlUnsafeError,
  InterpreterNotFoundError,
} from '../../src/errors.js';
import type { ClusterStatus } from '../../src/status/status-report.js';

const tmp = mkdtempSync(path.join(os.tmpdir(), 'oc-unit-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe('parseArgs', () => {
  it.each([
    [
      ['start', 'app.js', '-i', '4', '--port', '8080'],
      { command: 'start', script: 'app.js', instances: 4, port: 8080, scriptArgs: [] },
    ],
    [
      ['start', '-i', 'max', 'app.js', '--name=api', '--', '--flag', 'x'],
      { command: 'start', script: 'app.js', instances: 'auto', name: 'api', scriptArgs: ['--flag', 'x'] },
    ],
    [
      ['start', 'app.js', '-i', 'auto', '--json-logs', '--config', 'c.json'],
      { instances: 'auto', jsonLogs: true, config: 'c.json' },
    ],
    [['status', '--json', '-n', 'api'], { command: 'status', json: true, name: 'api' }],
    [['scale', '3', '--name', 'api'], { command: 'scale', size: 3, name: 'api' }],
    [['reload', '--timeout-ms', '5000'], { command: 'reload', timeoutMs: 5000 }],
    [[], { command: 'help' }],
    [['--version'], { command: 'version' }],
    [['stop', '--help'], { command: 'help' }],
    [['start', 'app.js', '-i4', '-p8080'], { instances: 4, port: 8080 }],
  ])('%j', (argv, expected) => {
    expect(parseArgs(argv)).toMatchObject(expected);
  });

  it.each([
    [['launch'], "unknown command 'launch'"],
    [['start'], 'start needs the script'],
    [['start', 'a.js', 'b.js'], "unexpected argument 'b.js' after the script"],
    [['start', 'a.js', '-i', '0x2'], "-i expects an integer 1..1024, got '0x2'"],
    [['start', 'a.js', '--port', '70000'], '--port expects an integer 0..65535'],
    [['start', 'a.js', '--port'], '--port needs a value'],
    [['start', 'a.js', '--bogus'], "unknown flag '--bogus' for start"],
    [['status', '-i', '2'], '-i does not go with status'],
    [['status', 'extra'], "status takes no argument 'extra'"],
    [['scale'], 'scale needs one size'],
    [['scale', '0'], 'scale expects an integer 1..1024'],
    [['scale', '-1'], "scale expects an integer 1..1024, got '-1'"],
    [['start', 'a.js', '-'], "unknown flag '-' for start"],
    [['stop', '--json=yes'], '--json takes no value'],
    [['status', '--name', '../x'], "--name '../x': letters, digits"],
    [['start', 'a.js', '--name', 'my api'], "--name 'my api'"],
    [['status', '--', 'x'], "'--' (arguments for the app) only goes with start"],
  ])('%j is a usage error', (argv, message) => {
    expect(() => parseArgs(argv)).toThrow(CliUsageError);
    expect(() => parseArgs(argv)).toThrow(message);
  });
});

describe('control protocol', () => {
  it('accepts the commands', () => {
    expect(parseControlRequest('{"cmd":"status"}')).toEqual({ cmd: 'status' });
    expect(parseControlRequest('{"cmd":"scale","n":3}')).toEqual({ cmd: 'scale', n: 3 });
  });
  it.each([
    ['not json', 'not JSON'],
    ['[1]', 'must be a JSON object'],
    ['{"cmd":"rm -rf"}', 'unknown control command "rm -rf"'],
    ['{"cmd":"status","extra":1}', 'unknown field(s) in control request: extra'],
    ['{"cmd":"scale","n":0}', 'scale needs n, an integer 1..1024'],
    ['{"cmd":"scale","n":2.5}', 'scale needs n'],
    ['{"cmd":"stop","n":2}', 'stop takes no n'],
  ])('%s is refused with a typed error', (line, message) => {
    expect(() => parseControlRequest(line)).toThrow(ControlProtocolError);
    expect(() => parseControlRequest(line)).toThrow(message);
  });
});

describe('runtime directory', () => {
  it('the option, then OTEL_CLUSTER_RUNTIME_DIR, then XDG_RUNTIME_DIR, then tmpdir with the uid', () => {
    const keys = ['OTEL_CLUSTER_RUNTIME_DIR', 'XDG_RUNTIME_DIR'] as const;
    const saved = keys.map((k) => process.env[k]);
    try {
      process.env.OTEL_CLUSTER_RUNTIME_DIR = '/a';
      process.env.XDG_RUNTIME_DIR = '/run/user/1';
      expect(runtimeDir('/given')).toBe('/given');
      expect(runtimeDir()).toBe('/a');
      delete process.env.OTEL_CLUSTER_RUNTIME_DIR;
      expect(runtimeDir()).toBe('/run/user/1/otel-cluster');
      delete process.env.XDG_RUNTIME_DIR;
      expect(runtimeDir()).toBe(path.join(os.tmpdir(), `otel-cluster-${process.getuid!()}`));
    } finally {
      keys.forEach((k, i) => (saved[i] === undefined ? delete process.env[k] : (process.env[k] = saved[i])));
    }
  });
  it('refuses a socket path past the Unix limit', () => {
    expect(() => controlPaths('x'.repeat(64), `/tmp/${'d'.repeat(60)}`)).toThrow(ControlUnsafeError);
  });
  it('refuses a directory others can write to, and a file in its place', () => {
    const open = path.join(tmp, 'open');
    ensurePrivateDir(open);
    chmodSync(open, 0o777);
    expect(() => ensurePrivateDir(open)).toThrow('writable by group or others');
    const file = path.join(tmp, 'afile');
    writeFileSync(file, '');
    expect(() => ensurePrivateDir(file)).toThrow(ControlUnsafeError);
  });
});

describe('config files', () => {
  it('finds .mjs before .js before .json in the working directory, or the one given', () => {
    const dir = mkdtempSync(path.join(tmp, 'find-'));
    expect(findConfigFile(undefined, dir)).toBeUndefined();
    writeFileSync(path.join(dir, 'otel-cluster.config.json'), '{}');
    expect(findConfigFile(undefined, dir)).toBe(path.join(dir, 'otel-cluster.config.json'));
    writeFileSync(path.join(dir, 'otel-cluster.config.mjs'), 'export default {}');
    expect(findConfigFile(undefined, dir)).toBe(path.join(dir, 'otel-cluster.config.mjs'));
    expect(() => findConfigFile('missing.json', dir)).toThrow(ConfigFileError);
  });
  it('loads JSON and modules (a default export, or a function returning the options), CLI keys apart', async () => {
    const json = path.join(tmp, 'a.json');
    writeFileSync(json, JSON.stringify({ name: 'api', port: 8080, cluster: { workers: 2 } }));
    expect(await loadConfigFile(json)).toMatchObject({ name: 'api', port: 8080, options: { cluster: { workers: 2 } } });
    const mjs = path.join(tmp, 'b.mjs');
    writeFileSync(mjs, 'export default async () => ({ host: "127.0.0.1", telemetry: { intervalMs: 500 } })');
    expect(await loadConfigFile(mjs)).toMatchObject({ host: '127.0.0.1', options: { telemetry: { intervalMs: 500 } } });
  });
  it.each([
    ['c1.json', '{ nope', 'c1.json: not valid JSON at line 1, column 3'],
    ['c2.json', '[1, 2]', 'c2.json: must export an object of createServer options (got an array)'],
    ['c3.json', '{"port": "80"}', 'c3.json: port must be an integer 0..65535'],
    ['c4.json', '{"name": 5}', 'c4.json: name must be a string'],
  ])('%s: %s', async (file, text, message) => {
    writeFileSync(path.join(tmp, file), text);
    await expect(loadConfigFile(path.join(tmp, file))).rejects.toThrow(message);
  });
});

describe('options of an app run by the CLI', () => {
  const plan: CliPlan = {
    script: '/srv/app.js',
    scriptArgs: [],
    configFile: undefined,
    name: 'api',
    instances: 3,
    adminPort: 0,
    runtimeDir: undefined,
  };
  it('puts -i where the file keeps its cluster config, in either shape', () => {
    const nested = cliServerOptions(
      plan,
      { file: 'f', options: { cluster: { config: { workers: 1, healthCheck: { enabled: true } } } } },
      NO_BRIDGE,
    );
    // Standbys are opt-in for an unmodified app: 0 unless the file sets them.
    expect(nested.cluster).toEqual({
      enabled: true,
      config: { workers: 3, healthCheck: { enabled: true }, processManagement: { standbyWorkers: 0 } },
    });
    const flat = cliServerOptions(plan, { file: 'f', options: { cluster: { workers: 1 } } }, NO_BRIDGE);
    expect(flat.cluster).toEqual({ enabled: true, workers: 3, processManagement: { standbyWorkers: 0 } });
    const opted = cliServerOptions(
      plan,
      { file: 'f', options: { cluster: { processManagement: { standbyWorkers: 2 } } } },
      NO_BRIDGE,
    );
    expect(opted.cluster).toEqual({ enabled: true, workers: 3, processManagement: { standbyWorkers: 2 } });
    expect(flat.control).toEqual({ name: 'api' });
    expect(flat.admin).toEqual({ port: 0 });
  });
  it('names the app from --name, the file, or the script, made safe for a socket name', () => {
    expect(appName({ name: undefined, script: '/srv/my app.mjs' }, undefined)).toBe('my-app');
    expect(appName({ name: undefined, script: 'x.js' }, { file: 'f', options: {}, name: 'from-file' })).toBe(
      'from-file',
    );
    expect(appName({ name: 'given', script: 'x.js' }, { file: 'f', options: {}, name: 'from-file' })).toBe('given');
    expect(() =>
      appName(
        { name: undefined, script: 'x.js' },
        { file: '/d/otel-cluster.config.json', options: {}, name: '../etc' },
      ),
    ).toThrow("otel-cluster.config.json: name '../etc'");
  });
});

describe('parseListenArgs', () => {
  const cb = () => {};
  it.each([
    [[3000], { tcp: true, port: 3000, host: undefined }],
    [['3000', '0.0.0.0', cb], { tcp: true, port: 3000, host: '0.0.0.0', cb }],
    [[{ port: 8080, host: '::' }, cb], { tcp: true, port: 8080, host: '::' }],
    [[], { tcp: true, port: undefined }],
    [[cb], { tcp: true, port: undefined, cb }],
    [['/tmp/app.sock'], { tcp: false }],
    [[{ path: '/tmp/app.sock' }], { tcp: false }],
    [[{ fd: 3 }], { tcp: false }],
  ])('%j', (args, expected) => {
    expect(parseListenArgs(args)).toMatchObject(expected);
  });
});

describe('status table', () => {
  it('formats durations', () => {
    expect([5, 75, 3700, 90_000].map(humanDuration)).toEqual(['5s', '1m 15s', '1h 1m', '1d 1h']);
  });
  it('prints one row per worker, the cluster and the auto-scaler', () => {
    const s: ClusterStatus = {
      at: 0,
      name: 'api',
      pid: 10,
      size: 2,
      cluster: { requestRate: 120.5, errorRate: 0.01, p50Ms: 2, p95Ms: 9.5, p99Ms: 20, activeRequests: 3 },
      workers: [
        {
          slot: 0,
          pid: 11,
          state: 'ready',
          startedAt: 0,
          readyAt: 1,
          lastSeenAt: 2,
          restarts: 0,
          uptimeS: 65,
          cpuPct: 12.5,
          rssBytes: 60 * 2 ** 20,
          rssLimitBytes: 512 * 2 ** 20,
          requestRate: 60.2,
          p95Ms: 9,
          eventLoopDelayMs: 1,
          health: 'ok',
          healthFailures: 0,
        },
        {
          slot: 1,
          pid: 12,
          state: 'starting',
          startedAt: 0,
          readyAt: undefined,
          lastSeenAt: 2,
          restarts: 2,
          uptimeS: 1,
          cpuPct: null,
          rssBytes: null,
          rssLimitBytes: null,
          requestRate: null,
          p95Ms: null,
          eventLoopDelayMs: null,
          health: 'failing',
          healthFailures: 2,
        },
      ],
      autoscaler: {
        size: 2,
        desired: 3,
        minWorkers: 1,
        maxWorkers: 4,
        hold: 'cooldown',
        signals: [{ trigger: 'cpu', value: 80, target: 75, scaleDownBelow: 25, unit: '%' }],
        lastDecision: {
          at: 0,
          from: 1,
          to: 2,
          direction: 'up',
          trigger: 'cpu',
          value: 90,
          target: 75,
          traceIds: ['abc'],
        },
      },
    };
    const t = statusTable(s);
    expect(t).toContain('api (primary pid 10): 1 of 2 workers ready');
    expect(t).toContain('slot  pid  state     uptime  restarts  cpu %                   rss  req/s  p95 ms  health\n');
    expect(t).toContain('   0  11   ready     1m 5s          0   12.5  60.0 MiB / 512.0 MiB   60.2     9.0  ok\n');
    expect(t).toContain(
      '   1  12   starting  1s             2      -                     -      -       -  failing (2)\n',
    );
    expect(t).toContain('cluster: 120.5 req/s, errors 1.00%, p50 2.0 ms, p95 9.5 ms, p99 20.0 ms, 3 in progress');
    expect(t).toContain('auto-scaler: target 3 (min 1, max 4), holding: cooldown; cpu 80.0% (target 75)');
    expect(t).toContain('last decision: up 1 → 2 at 1970-01-01T00:00:00.000Z (cpu 90.0 against 75); traces abc');
  });
});

describe('--interpreter', () => {
  it('takes node or bun, on start only; anything else is a usage error naming the flag', () => {
    expect(parseArgs(['start', 'app.ts', '--interpreter', 'bun'])).toMatchObject({
      script: 'app.ts',
      interpreter: 'bun',
    });
    expect(parseArgs(['start', '--interpreter=node', 'app.js'])).toMatchObject({
      script: 'app.js',
      interpreter: 'node',
    });
    for (const bad of ['deno', 'Bun', '']) {
      expect(() => parseArgs(['start', 'app.js', '--interpreter', bad])).toThrow(CliUsageError);
      expect(() => parseArgs(['start', 'app.js', '--interpreter', bad])).toThrow(
        `--interpreter expects 'node' or 'bun', got '${bad}'`,
      );
    }
    expect(() => parseArgs(['status', '--interpreter', 'bun'])).toThrow('--interpreter does not go with status');
  });

  it("is the config file's `interpreter` too, checked there", async () => {
    const ok = path.join(tmp, 'i1.json');
    writeFileSync(ok, JSON.stringify({ interpreter: 'bun', cluster: { workers: 2 } }));
    const file = await loadConfigFile(ok);
    expect(file.interpreter).toBe('bun');
    expect(file.options).toEqual({ cluster: { workers: 2 } });
    const bad = path.join(tmp, 'i2.json');
    writeFileSync(bad, JSON.stringify({ interpreter: 'deno' }));
    await expect(loadConfigFile(bad)).rejects.toThrow(ConfigFileError);
    await expect(loadConfigFile(bad)).rejects.toThrow(
      `i2.json: interpreter must be 'node' or 'bun' (as --interpreter), got "deno"`,
    );
  });

  it('is found in node_modules/.bin from the working directory up, then from the app, then on PATH', () => {
    const root = mkdtempSync(path.join(tmp, 'interp-'));
    const exe = (dir: string) => {
      mkdirSync(dir, { recursive: true });
      writeFileSync(path.join(dir, 'bun'), '#!/bin/sh\n');
      chmodSync(path.join(dir, 'bun'), 0o755);
      return path.join(dir, 'bun');
    };
    const cwd = path.join(root, 'project/sub');
    const appDir = path.join(root, 'elsewhere/app');
    mkdirSync(cwd, { recursive: true });
    mkdirSync(appDir, { recursive: true });
    const from = { cwd, script: path.join(appDir, 'server.ts'), env: { PATH: '' } };
    expect(findInterpreter('bun', from)).toBeUndefined();
    const onPath = exe(path.join(root, 'usr/bin'));
    expect(findInterpreter('bun', { ...from, env: { PATH: path.join(root, 'usr/bin') } })).toBe(onPath);
    const ofApp = exe(path.join(root, 'elsewhere/node_modules/.bin'));
    expect(findInterpreter('bun', { ...from, env: { PATH: path.join(root, 'usr/bin') } })).toBe(ofApp);
    const ofProject = exe(path.join(root, 'project/node_modules/.bin'));
    expect(findInterpreter('bun', from)).toBe(ofProject);
    // A file that is not executable is not a runtime.
    chmodSync(ofProject, 0o644);
    expect(findInterpreter('bun', from)).toBe(ofApp);
  });

  it('not found: a typed error naming where it looked and what to install', () => {
    const err = notFound('bun', { cwd: '/srv/api', script: 'server.ts' });
    expect(err).toBeInstanceOf(InterpreterNotFoundError);
    expect(err.code).toBe('CLUSTER_ERR_INTERPRETER_NOT_FOUND');
    expect(err.message).toBe(
      "--interpreter bun: 'bun' was found neither in node_modules/.bin (from /srv/api up) nor on PATH; install it in the project (npm install --save-dev bun) or on PATH (https://bun.sh)",
    );
  });
});
