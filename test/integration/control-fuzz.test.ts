// Hostile input on the control socket of a real `otel-cluster start`: seeded fast-check frames
// (truncated, oversized, random bytes, non-UTF-8, JSON of the wrong shape, split anywhere), many
// connections at once, and connections that say nothing. The primary must stay up, answer each
// request line exactly as the protocol says (parseControlRequest is the oracle), keep its memory,
// and still answer `status` afterwards.
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_CONTROL_CONNECTIONS } from '../../src/control/control-server.js';
import { CONTROL_COMMANDS, MAX_CONTROL_LINE_BYTES, parseControlRequest } from '../../src/control/protocol.js';
import { CliCluster, runCli, tempRuntimeDir } from '../helpers/cli.js';
import { isAlive } from '../helpers/cluster-process.js';

const SEED = Number(process.env.FUZZ_SEED ?? 0x0c7a11);
const rt = tempRuntimeDir();
const at = ['--runtime-dir', rt.dir];
const socket = path.join(rt.dir, 'fuzz.sock');

/** One connection: bytes in chunks, then (`end`) the write side closed; or nothing at all (silent). */
interface Frame {
  chunks: Uint8Array[];
  end: boolean;
}

type Expect = { reply: 'none' } | { reply: 'ok' } | { reply: 'refused'; code: string };

/** What the protocol says the primary answers to this frame. */
function expected(f: Frame): Expect {
  const bytes = Buffer.concat(f.chunks);
  const nl = bytes.indexOf(0x0a);
  if ((nl < 0 ? bytes.length : nl) > MAX_CONTROL_LINE_BYTES)
    return { reply: 'refused', code: 'CLUSTER_ERR_CONTROL_PROTOCOL' };
  if (nl < 0) return f.end ? { reply: 'refused', code: 'CLUSTER_ERR_CONTROL_PROTOCOL' } : { reply: 'none' };
  try {
    parseControlRequest(bytes.subarray(0, nl).toString('utf8'));
    return { reply: 'ok' };
  } catch (err) {
    return { reply: 'refused', code: (err as { code: string }).code };
  }
}

/** Never a command that changes the cluster: such a line gets a byte that makes it invalid JSON. */
function harmless(bytes: Uint8Array): Uint8Array {
  const b = Buffer.from(bytes);
  const nl = b.indexOf(0x0a);
  try {
    const req = parseControlRequest(b.subarray(0, nl < 0 ? b.length : nl).toString('utf8'));
    if (req.cmd !== 'status' && req.cmd !== 'ping') return Buffer.concat([Buffer.from('#'), b]);
  } catch {}
  return b;
}

const utf8 = (s: string) => Buffer.from(s, 'utf8');
const anyCommand = fc.oneof(
  fc.constantFrom(...CONTROL_COMMANDS, 'STATUS', '', 'status ', 'constructor', '__proto__'),
  fc.jsonValue(),
);
const wrongShape = fc.oneof(
  fc.jsonValue(),
  fc.record({ cmd: anyCommand, n: fc.oneof(fc.integer(), fc.double(), fc.jsonValue()) }, { requiredKeys: [] }),
  fc.dictionary(fc.string(), fc.jsonValue(), { maxKeys: 5 }).map((extra) => ({ cmd: 'status', ...extra })),
);
const nasty = fc.constantFrom(
  '{"cmd":"status","__proto__":{"polluted":1}}',
  '{"__proto__":null}',
  '{"cmd":"status","cmd":"ping"}',
  `${'['.repeat(60_000)}${']'.repeat(10)}`,
  '{"cmd":"scale","n":1e400}',
  '{"cmd":"status"}\r',
  '\ufeff{"cmd":"status"}',
  '{"cmd":"ping"}',
  '{"cmd":"status"}',
);
/** A line's bytes: JSON of any shape, random bytes (non-UTF-8 included), or a known nasty one. */
const lineBytes = fc.oneof(
  wrongShape.map((v) => utf8(JSON.stringify(v) ?? 'undefined')),
  fc.uint8Array({ maxLength: 512 }),
  fc.string({ unit: 'grapheme', maxLength: 200 }).map(utf8),
  nasty.map(utf8),
);
const frameBytes = fc.oneof(
  {
    weight: 6,
    arbitrary: fc.tuple(lineBytes, fc.boolean()).map(([b, nl]) => (nl ? Buffer.concat([b, utf8('\n')]) : b)),
  },
  // Truncated: a line cut short (the client then ends, or just leaves after a while).
  {
    weight: 2,
    arbitrary: fc.tuple(lineBytes, fc.nat()).map(([b, cut]) => b.subarray(0, b.length ? cut % b.length : 0)),
  },
  // Oversized: past the 64 KiB limit, with or without its newline.
  {
    weight: 1,
    arbitrary: fc
      .tuple(fc.integer({ min: 1, max: 64 * 1024 }), fc.boolean())
      .map(([extra, nl]) => oversized(MAX_CONTROL_LINE_BYTES + extra, nl)),
  },
  // Two lines at once: only the first counts.
  {
    weight: 1,
    arbitrary: fc.tuple(lineBytes, lineBytes).map(([a, b]) => Buffer.concat([a, utf8('\n'), b, utf8('\n')])),
  },
);
/** Bytes split into chunks at arbitrary points (inside a UTF-8 sequence too). */
const frame: fc.Arbitrary<Frame> = fc
  .oneof(
    {
      weight: 9,
      arbitrary: fc
        .tuple(frameBytes.map(harmless), fc.array(fc.nat(), { maxLength: 4 }), fc.boolean())
        .map(([b, cuts, end]) => ({ chunks: split(b, cuts), end })),
    },
    { weight: 1, arbitrary: fc.constant<Frame>({ chunks: [], end: false }) },
  )
  .map((f) => Object.assign(f, { [fc.toStringMethod]: () => describeFrame(f) }));

/** A frame as a counterexample: its size, start and shape (an oversized one would fill the screen). */
function describeFrame(f: Frame): string {
  const b = Buffer.concat(f.chunks);
  return `<${b.length} bytes in ${f.chunks.length} chunk(s)${f.end ? ', then end' : ''}: ${JSON.stringify(b.subarray(0, 60).toString('latin1'))}${b.length > 60 ? '...' : ''}>`;
}

function oversized(bytes: number, newline: boolean): Buffer {
  const b = Buffer.alloc(bytes, newline ? 0x7b : 0xff);
  if (newline) b[bytes - 1] = 0x0a;
  return b;
}

function split(b: Uint8Array, cuts: number[]): Uint8Array[] {
  const at = [...new Set(cuts.map((c) => (b.length ? c % b.length : 0)))].filter((c) => c > 0).sort((x, y) => x - y);
  const out: Uint8Array[] = [];
  let from = 0;
  for (const c of at) out.push(b.subarray(from, (from = c)));
  out.push(b.subarray(from));
  return out.filter((c) => c.length > 0);
}

/**
 * Sends one frame and collects whatever comes back until the primary ends the connection, or until
 * `leaveAfterMs` for a frame that ends neither its line nor its side (the client leaves then).
 */
function exchange(f: Frame, leaveAfterMs: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socket);
    const got: Buffer[] = [];
    const finish = () => {
      clearTimeout(leave);
      clearTimeout(guard);
      s.destroy();
      resolve(Buffer.concat(got));
    };
    const waitsForever = expected(f).reply === 'none';
    const leave = setTimeout(() => waitsForever && finish(), leaveAfterMs);
    const guard = setTimeout(
      () =>
        reject(
          new Error(
            `no end of reply within 15 s for ${JSON.stringify(Buffer.concat(f.chunks).subarray(0, 80).toString())}`,
          ),
        ),
      15_000,
    );
    s.on('connect', () => {
      for (const c of f.chunks) s.write(c);
      if (f.end) s.end();
    });
    s.on('data', (d: Buffer) => got.push(d));
    s.on('end', finish);
    s.on('close', finish);
    // Over the connection cap the primary closes new connections at once.
    s.on('error', (err: NodeJS.ErrnoException) =>
      err.code === 'ECONNRESET' || err.code === 'EPIPE' ? finish() : reject(err),
    );
  });
}

/** A reply is one JSON line: the answer the protocol gives this frame. */
function checkReply(f: Frame, reply: Buffer): void {
  try {
    checkReplyTo(f, reply);
  } catch (err) {
    throw new Error(`frame ${describeFrame(f)}: ${(err as Error).message}`);
  }
}

function checkReplyTo(f: Frame, reply: Buffer): void {
  const want = expected(f);
  if (want.reply === 'none') return void expect(reply.length, 'a frame without a line end got a reply').toBe(0);
  const text = reply.toString('utf8');
  expect(
    text.endsWith('\n') && text.indexOf('\n') === text.length - 1,
    `one JSON line, got ${JSON.stringify(text.slice(0, 200))}`,
  ).toBe(true);
  const r = JSON.parse(text) as { ok: boolean; result?: unknown; error?: { code: unknown; message: unknown } };
  if (want.reply === 'ok') return void expect(r.ok, text.slice(0, 200)).toBe(true);
  expect(r).toEqual({ ok: false, error: { code: want.code, message: expect.any(String) } });
  expect(r.error!.code).toMatch(/^CLUSTER_ERR_[A-Z_]+$/);
}

const rssKiB = (pid: number) => Number(/VmRSS:\s+(\d+)/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1]);

describe('control socket under hostile input', () => {
  let c: CliCluster;
  let primary: number;
  let rssBefore: number;
  beforeAll(async () => {
    c = new CliCluster('http.cjs', ['-i', '1', '--port', '0', '--admin-port', '0', '--name', 'fuzz', ...at]);
    await c.ready();
    primary = c.child.pid!;
    // Warm: the first status and protocol error allocate what every later one reuses.
    for (let i = 0; i < 20; i++)
      await exchange({ chunks: [utf8(i % 2 ? '{"cmd":"status"}\n' : 'x\n')], end: false }, 100);
    rssBefore = rssKiB(primary);
  });
  afterAll(async () => {
    await c.cleanup();
    rt.remove();
  });

  const seeded = async (property: fc.IAsyncProperty<[Frame[]]>, numRuns: number) => {
    try {
      await fc.assert(property, { seed: SEED, numRuns, endOnFailure: true });
    } catch (err) {
      const cause = (err as Error).cause as Error | undefined;
      throw new Error(
        `control fuzz failed with seed ${SEED} (rerun: FUZZ_SEED=${SEED})\n${(err as Error).message.slice(0, 4000)}\n${cause?.message ?? ''}`,
      );
    }
  };

  it('each frame gets the reply the protocol gives it, batches of up to 30 connections at once', async () => {
    const property = fc.asyncProperty(fc.array(frame, { minLength: 1, maxLength: 30 }), async (frames) => {
      const replies = await Promise.all(frames.map((f) => exchange(f, 50)));
      frames.forEach((f, i) => checkReply(f, replies[i]!));
      expect(isAlive(primary)).toBe(true);
    });
    await seeded(property, 300);
  }, 120_000);

  it(`200 connections at once: over the cap of ${MAX_CONTROL_CONNECTIONS} they are closed, every reply that comes is the right one`, async () => {
    const frames = fc.sample(frame, { seed: SEED, numRuns: 200 });
    const replies = await Promise.all(frames.map((f) => exchange(f, 300)));
    let dropped = 0;
    frames.forEach((f, i) => {
      const reply = replies[i]!;
      if (reply.length === 0 && expected(f).reply !== 'none') dropped++;
      else checkReply(f, reply);
    });
    // A connection is closed unanswered only while the cap's worth are held, all of them answered.
    expect(dropped).toBeLessThanOrEqual(frames.length - MAX_CONTROL_CONNECTIONS);
    expect(isAlive(primary)).toBe(true);
  });

  it(`connections that send nothing hold at most ${MAX_CONTROL_CONNECTIONS} slots, and are closed after the request wait`, async () => {
    const idle = Array.from({ length: MAX_CONTROL_CONNECTIONS }, () => net.connect(socket).on('error', () => {}));
    const closedAfterMs = idle.map((s) => {
      const t0 = Date.now();
      return new Promise<number>((resolve) => s.on('close', () => resolve(Date.now() - t0)));
    });
    await Promise.all(idle.map((s) => new Promise((resolve) => s.once('connect', resolve))));
    // Accepted in order: this one finds every slot taken, and is closed unanswered.
    const status: Frame = { chunks: [utf8('{"cmd":"status"}\n')], end: false };
    expect((await exchange(status, 2000)).length).toBe(0);
    for (const ms of await Promise.all(closedAfterMs)) expect(ms).toBeLessThan(10_000);
    checkReply(status, await exchange(status, 2000));
  });

  it('afterwards the primary is up, answers status, and its memory stayed bounded', async () => {
    expect(isAlive(primary)).toBe(true);
    const status = await runCli(['status', '--json', '--name', 'fuzz', ...at]);
    expect(status.code, status.stderr).toBe(0);
    expect((JSON.parse(status.stdout) as { pid: number }).pid).toBe(primary);
    // What the fuzz kept, not its peak: V8 shrinks a heap that grew under load once allocation
    // calms (its memory reducer, seconds later), so a reading above the bound is taken again for up
    // to 20 s; memory the primary holds on to stays above it.
    let grownMiB = (rssKiB(primary) - rssBefore) / 1024;
    for (const until = Date.now() + 20_000; grownMiB >= 50 && Date.now() < until; ) {
      await new Promise((r) => setTimeout(r, 250));
      grownMiB = Math.min(grownMiB, (rssKiB(primary) - rssBefore) / 1024);
    }
    console.log(
      `[control-fuzz] primary RSS ${(rssBefore / 1024).toFixed(1)} MiB after warm-up, grew ${grownMiB.toFixed(1)} MiB`,
    );
    expect(grownMiB, `primary RSS grew by ${grownMiB.toFixed(1)} MiB`).toBeLessThan(50);
    expect(c.logs.filter((l) => (l.level as number) >= 50)).toEqual([]);
  });
});
