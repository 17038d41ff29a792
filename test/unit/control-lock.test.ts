// The control lock against hostile timing: two starts taking over one stale lock at once, and a
// live socket whose lock file is gone. Real processes, interleaved by a gate (not by sleeps).
import { type ChildProcess, spawn } from 'node:child_process';
import {
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { controlRequest } from '../../src/control/control-client.js';
import { ControlServer } from '../../src/control/control-server.js';
import { controlPaths } from '../../src/control/runtime-dir.js';
import { ControlInUseError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { ROOT } from '../helpers/cluster-process.js';

const DIST = (f: string) => pathToFileURL(path.join(ROOT, 'dist/src', f)).href;

// A child process opening the control server from dist. Its first takeover step on the lock file
// (rename, unlink or rm: whichever the implementation uses) blocks until the test creates its
// `go` file, after writing its `judged` file: so both children judge the same stale lock before
// either takes it over, and the test decides who goes first.
const CHILD = `
import fs from 'node:fs';
const [dir, name, tag] = process.argv.slice(1);
const { ControlServer } = await import(${JSON.stringify(DIST('control/control-server.js'))});
const { controlPaths } = await import(${JSON.stringify(DIST('control/runtime-dir.js'))});
const { createLogger } = await import(${JSON.stringify(DIST('logger.js'))});
const paths = controlPaths(name, dir);
const gateDir = dir + '.gate';
const sleep = new Int32Array(new SharedArrayBuffer(4));
let gated = false;
for (const op of ['renameSync', 'unlinkSync', 'rmSync']) {
  const orig = fs[op];
  fs[op] = function (p, ...rest) {
    if (!gated && p === paths.lock) {
      gated = true;
      fs.writeFileSync(gateDir + '/judged-' + tag, '');
      while (!fs.existsSync(gateDir + '/go-' + tag)) Atomics.wait(sleep, 0, 0, 5);
    }
    return orig.call(this, p, ...rest);
  };
}
try {
  await ControlServer.open(paths, async () => ({ result: { pid: process.pid } }), createLogger(false, {}), { name, cwd: process.cwd(), script: undefined, admin: undefined, port: 0 });
  console.log('opened');
} catch (err) {
  console.log('refused ' + err.code);
  process.exit(0);
}
`;

const children: ChildProcess[] = [];
let parent: string | undefined;
afterEach(() => {
  for (const c of children.splice(0)) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
  if (parent) rmSync(parent, { recursive: true, force: true });
  parent = undefined;
});

function startChild(dir: string, name: string, tag: string): { child: ChildProcess; firstLine: Promise<string> } {
  const child = spawn(process.execPath, ['--input-type=module', '-e', CHILD, dir, name, tag], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.push(child);
  let out = '';
  let err = '';
  child.stderr!.on('data', (d: Buffer) => (err += d.toString()));
  const firstLine = new Promise<string>((resolve, reject) => {
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('\n')) resolve(out.slice(0, out.indexOf('\n')));
    });
    child.once('exit', (code) => reject(new Error(`child ${tag} exited (${code}) before a line: ${err.slice(-1500)}`)));
  });
  firstLine.catch(() => {});
  return { child, firstLine };
}

/** Resolves once the file exists; rejects if the child exits first or after timeoutMs. */
async function fileAppears(file: string, child: ChildProcess, timeoutMs = 15_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  while (!existsSync(file)) {
    if (child.exitCode !== null) throw new Error(`child exited (${child.exitCode}) before ${path.basename(file)}`);
    if (Date.now() > until)
      throw new Error(`no ${path.basename(file)} within ${timeoutMs} ms: the child never reached the takeover`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function privateDirs(): { dir: string; gate: string } {
  parent = mkdtempSync(path.join(os.tmpdir(), 'oc-lock-'));
  const dir = path.join(parent, 'rt');
  mkdirSync(dir, { mode: 0o700 });
  mkdirSync(`${dir}.gate`);
  return { dir, gate: `${dir}.gate` };
}

describe('control lock', () => {
  it('two starts taking over one stale lock (its pid alive, no socket) at once: exactly one wins, and its socket answers', async () => {
    const { dir, gate } = privateDirs();
    const name = 'twice';
    const paths = controlPaths(name, dir);
    // A lock naming a live process that is not a primary, older than a start in progress.
    const sleeper = spawn('sleep', ['600'], { stdio: 'ignore' });
    children.push(sleeper);
    writeFileSync(paths.lock, `${sleeper.pid}\n`, { mode: 0o600 });
    const old = new Date(Date.now() - 60_000);
    utimesSync(paths.lock, old, old);

    const a = startChild(dir, name, 'a');
    const b = startChild(dir, name, 'b');
    await Promise.all([
      fileAppears(path.join(gate, 'judged-a'), a.child),
      fileAppears(path.join(gate, 'judged-b'), b.child),
    ]);
    writeFileSync(path.join(gate, 'go-a'), '');
    expect(await a.firstLine).toBe('opened');
    writeFileSync(path.join(gate, 'go-b'), '');
    expect(await b.firstLine).toBe('refused CLUSTER_ERR_CONTROL_IN_USE');

    // The winner still holds the lock and answers on its socket.
    expect(readFileSync(paths.lock, 'utf8').trim()).toBe(String(a.child.pid));
    expect(await controlRequest(paths.socket, { cmd: 'ping' }, 5000)).toEqual({ pid: a.child.pid });
    // Nothing left beside them: the stale lock moved aside was removed.
    expect(readdirSync(dir).sort()).toEqual([`${name}.json`, `${name}.lock`, `${name}.sock`]);
  });

  it('a socket that answers is never replaced, even when its lock file is gone', async () => {
    const { dir } = privateDirs();
    const paths = controlPaths('live', dir);
    const live = net.createServer((s) =>
      s
        .on('error', () => {})
        .resume()
        .end('{"ok":true,"result":"still here"}\n'),
    );
    await new Promise<void>((r) => live.listen(paths.socket, r));
    try {
      const outcome = await ControlServer.open(paths, async () => ({ result: null }), createLogger(false, {}), {
        name: 'live',
        cwd: '/',
        script: undefined,
        admin: undefined,
        port: 0,
      }).then(
        (opened) => (opened.close(), 'opened'),
        (err: unknown) => err,
      );
      expect(outcome).toBeInstanceOf(ControlInUseError);
      expect(await controlRequest(paths.socket, { cmd: 'ping' }, 5000)).toBe('still here');
      // The refused start released the lock it had taken.
      expect(existsSync(paths.lock)).toBe(false);
    } finally {
      await new Promise((r) => live.close(r));
    }
  });
});
