// The built-in logger writes what pino writes for the same calls (level, time, bindings, fields, msg).
import { describe, expect, it } from 'vitest';
import { jsonLogger } from '../../src/logger.js';

function capture(level = 'info') {
  const lines: Record<string, unknown>[] = [];
  const log = jsonLogger(level, { role: 'primary', primaryPid: 7 }, (line) => {
    expect(line.endsWith('\n')).toBe(true);
    lines.push(JSON.parse(line));
  });
  return { log, lines };
}

describe('built-in JSON logger', () => {
  it('writes level, time, bindings, fields and msg, and filters by level', () => {
    const { log, lines } = capture('INFO');
    log.info({ slot: 1, reason: 'crash' }, 'worker exited');
    log.debug({ slot: 1 }, 'not written');
    (log.warn as unknown as (m: string) => void)('plain message');
    log.child({ slot: 3 }).error({ n: 10n }, 'child');
    expect(lines.map(({ time, ...rest }) => ({ ...rest, time: typeof time }))).toEqual([
      { level: 30, time: 'number', role: 'primary', primaryPid: 7, slot: 1, reason: 'crash', msg: 'worker exited' },
      { level: 40, time: 'number', role: 'primary', primaryPid: 7, msg: 'plain message' },
      { level: 50, time: 'number', role: 'primary', primaryPid: 7, slot: 3, n: '10', msg: 'child' },
    ]);
  });

  it('serializes errors as pino does (type, message, stack, own fields, cause), alone or under err', () => {
    const { log, lines } = capture();
    const err = Object.assign(new Error('boom', { cause: new TypeError('root') }), { code: 'CLUSTER_ERR_X' });
    log.error({ err }, 'failed');
    (log.error as unknown as (e: Error) => void)(err);
    for (const line of lines) {
      expect(line.err).toMatchObject({ type: 'Error', message: 'boom', code: 'CLUSTER_ERR_X', cause: { type: 'TypeError', message: 'root' } });
      expect(String((line.err as { stack: string }).stack)).toContain('boom');
    }
    expect(lines.map((l) => l.msg)).toEqual(['failed', 'boom']);
  });

  it('marks a cycle instead of dropping the record', () => {
    const { log, lines } = capture();
    const a: Record<string, unknown> = { name: 'a' };
    a.self = a;
    log.info({ a, slot: 2 }, 'cyclic');
    expect(lines[0]).toMatchObject({ a: { name: 'a', self: '[Circular]' }, slot: 2, msg: 'cyclic' });
  });
});
