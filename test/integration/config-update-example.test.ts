import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, request, until, waitGone } from '../helpers/cluster-process.js';

describe('examples/config-update (the seed broadcast pattern)', () => {
  it('works as one process too (cluster.enabled false): a route handler broadcasts to itself', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'examples/config-update/server.mjs')], {
      env: { ...process.env, PORT: '0', ADMIN_PORT: '0', SINGLE: '1', OTEL_CLUSTER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    child.stdout.on('data', (d: Buffer) => (out += d.toString()));
    try {
      const { port } = await until(
        async () =>
          out
            .split('\n')
            .filter((l) => l.startsWith('{'))
            .map((l) => JSON.parse(l) as { event: string; port: number })
            .find((l) => l.event === 'listening'),
        15_000,
        'listening',
      );
      expect(JSON.parse((await request(port, '/config?greeting=hej')).body)).toEqual({ greeting: 'hej', sentTo: [0] });
      await until(
        async () => ((await request(port, '/greeting')).body.startsWith('hej') ? true : undefined),
        5000,
        'hej',
      );
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  });

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
      const { port } = (await until(async () => lines.find((l) => l.event === 'listening'), 15_000, 'listening')) as {
        port: number;
      };
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
      // From a route handler in a worker: through the primary to every worker, resolving with the slots.
      const sent = JSON.parse((await request(port, '/config?greeting=salut')).body);
      expect(sent).toEqual({ greeting: 'salut', sentTo: [0, 1] });
      await until(
        async () => {
          const seen = await answers();
          return seen.size === 2 && [...seen.values()].every((g) => g === 'salut') ? true : undefined;
        },
        5000,
        'every worker says salut',
      );
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
      expect(await waitGone([child.pid!], 1000)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
