// The built-in logger writes what pino writes for the same calls (level, time, bindings, fields, msg).
import { describe, expect, it } from 'vitest';
import { escapeForTerminal, jsonLogger, prettyLine } from '../../src/logger.js';

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
      expect(line.err).toMatchObject({
        type: 'Error',
        message: 'boom',
        code: 'CLUSTER_ERR_X',
        cause: { type: 'TypeError', message: 'root' },
      });
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

// Pretty lines go to an operator's terminal: a logged string (from an app, a worker, a request)
// must not move the cursor, forge a line, retitle the window or reorder what is shown.
describe('pretty lines', () => {
  /** Whether `s` holds a character a terminal acts on: C0, DEL, C1, line/paragraph separators, bidi controls. */
  const unsafe = (s: string) =>
    [...s].some((ch) => {
      const c = ch.codePointAt(0)!;
      return (
        c < 0x20 ||
        (c >= 0x7f && c <= 0x9f) ||
        c === 0x2028 ||
        c === 0x2029 ||
        (c >= 0x202a && c <= 0x202e) ||
        (c >= 0x2066 && c <= 0x2069)
      );
    });
  const ourColours = (s: string) =>
    ['0', '2', '31', '32', '33', '35', '90'].reduce((t, c) => t.replaceAll(`\x1b[${c}m`, ''), s);
  const pretty = (write: (log: ReturnType<typeof jsonLogger>) => void, color = false) => {
    const lines: string[] = [];
    write(jsonLogger('info', { role: 'primary', primaryPid: 7 }, (line) => lines.push(prettyLine(line, color))));
    expect(lines).toHaveLength(1);
    return lines[0]!;
  };
  const hostile = {
    crlf: 'a\r\n12:00:00.000 ERROR primary   forged line',
    esc: '\x1b[2J\x1b]0;owned\x07',
    c1: '\u009b31mred\u0085',
    del: 'x\x7fy',
    separators: 'a\u2028b\u2029c',
    bidi: '\u202eevil\u202c \u2066iso\u2069',
    tab: 'a\tb\bc\fd\0',
  };

  it('escapes control characters, separators and bidi overrides in the message and every value, as JSON would', () => {
    const line = pretty((log) =>
      log.warn({ ...hostile, 'key\nforged=1': 'v', nested: { s: '\u009b\u2028\x1b' } }, 'msg\r\n\x1b[31mred'),
    );
    expect(line.endsWith('\n')).toBe(true);
    expect(unsafe(line.slice(0, -1))).toBe(false);
    expect(line).toContain(' msg\\r\\n\\u001b[31mred  ');
    expect(line).toContain(
      'crlf=a\\r\\n12:00:00.000 ERROR primary   forged line esc=\\u001b[2J\\u001b]0;owned\\u0007 ',
    );
    expect(line).toContain(
      'c1=\\u009b31mred\\u0085 del=x\\u007fy separators=a\\u2028b\\u2029c bidi=\\u202eevil\\u202c \\u2066iso\\u2069 ',
    );
    expect(line).toContain('tab=a\\tb\\bc\\fd\\u0000 key\\nforged=1=v nested={"s":"\\u009b\\u2028\\u001b"}');
  });

  it('writes each C0 control as JSON.stringify does, and ordinary text as it is', () => {
    for (let c = 0; c < 0x20; c++)
      expect(escapeForTerminal(String.fromCharCode(c))).toBe(JSON.stringify(String.fromCharCode(c)).slice(1, -1));
    const readable = 'C:\\apps\\srv "quoted" café 日本語 ✓ 😀 שלום';
    expect(escapeForTerminal(readable)).toBe(readable);
    expect(pretty((log) => log.info({ path: readable }, readable))).toContain(` ${readable}  path=${readable}\n`);
  });

  it('keeps only its own colour codes on a terminal', () => {
    const line = pretty((log) => log.error(hostile, '\x1b[0mplain'), true);
    expect(line).toContain('\x1b[31mERROR\x1b[0m');
    expect(unsafe(ourColours(line.slice(0, -1)))).toBe(false);
    expect(line).toContain('\\u001b[0mplain');
  });

  it('escapes a role given as a field and survives a time that is not a date', () => {
    const line = pretty((log) => log.info({ role: 'x\x1b[2J', time: 1e20 }, 'hi'));
    expect(line).toMatch(/^\d\d:\d\d:\d\d\.\d{3} INFO {2}x\\u001b\[2J +hi\n$/);
    expect(prettyLine('not json \x1b[2J\n', false)).toBe('not json \\u001b[2J\n');
  });
});
