import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, request, until, waitGone } from '../helpers/cluster-process.js';

describe('examples/config-update (the seed broadcast pattern)', () => {
  it('changes what every worker answers', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'examples/config-update/server.mjs')], {
      env: { ...process.env, PORT: '0', ADMIN_PORT: '0', WORKERS: '2', OTEL_CLUSTER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const lines: Record<string, unknown>[] = [];
    child.stdout.on('data', (d: Buffer) =>
      d
        .toString()
        .split('\n')
        .filter((l) => l.startsWith('{'))
        .forEach((l) => lines.push(JSON.parse(l))),
    );
    try {
      const { port } = (await until(async () => lines.find((l) => l.event === 'listening'), 15_000, 'listening')) as { port: number };
      const answers = async () => {
        const seen = new Map<string, string>();
        for (let i = 0; i < 20 && seen.size < 2; i++) {
          const body = (await request(port, '/greeting')).body.trim();
          seen.set(body.split(' ').pop()!, body.split(' ')[0]!);
        }
        return seen;
      };
      expect([...(await answers()).values()]).toEqual(['hello', 'hello']);
      child.kill('SIGHUP');
      await until(async () => lines.find((l) => l.event === 'config-broadcast'), 5000, 'broadcast');
      const after = await answers();
      expect(after.size).toBe(2);
      expect([...after.values()]).toEqual(['bonjour', 'bonjour']);
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      expect(await waitGone([child.pid!], 1000)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
