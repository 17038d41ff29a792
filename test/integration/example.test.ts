import { spawn } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOT, request, waitGone } from '../helpers/cluster-process.js';

describe('the npm start example', () => {
  it('starts, prints where to look, serves, answers its probes and stops cleanly on SIGINT', async () => {
    const child = spawn(process.execPath, [path.join(ROOT, 'examples/basic/server.mjs')], {
      env: { ...process.env, PORT: '0', ADMIN_PORT: '0', WORKERS: '2', OTEL_CLUSTER_LOG_LEVEL: 'warn' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    try {
      let out = '';
      const banner = await new Promise<string>((resolve, reject) => {
        child.stdout.on('data', (d: Buffer) => {
          out += d.toString();
          if (out.includes('stop ')) resolve(out);
        });
        child.once('exit', () => reject(new Error(`example exited early: ${out}`)));
      });
      const port = Number(/serving http:\/\/127\.0\.0\.1:(\d+)\//.exec(banner)![1]);
      const admin = Number(/readiness\s+curl http:\/\/127\.0\.0\.1:(\d+)\/readyz/.exec(banner)![1]);
      const pids = [...banner.matchAll(/pid (\d+)/g)].map((m) => Number(m[1]));
      expect(pids).toHaveLength(2);
      expect(JSON.parse((await request(port, '/users/42')).body)).toMatchObject({ id: '42' });
      expect((await request(admin, '/readyz')).status).toBe(200);
      expect(banner).toContain(`curl http://127.0.0.1:${admin}/metrics`);
      expect((await request(admin, '/metrics')).body).toContain('cluster_worker_info');
      const health = await request(port, '/health');
      expect(health.headers['content-type']).toBe('application/health+json');
      expect(JSON.parse(health.body).checks.uptime[0]).toMatchObject({ status: 'pass', observedUnit: 's' });
      expect(JSON.parse((await request(admin, '/health')).body).status).toBe('pass');
      child.kill('SIGINT');
      expect(await exited).toBe(0);
      expect(await waitGone(pids, 2000)).toEqual([]);
    } finally {
      if (child.exitCode === null) child.kill('SIGKILL');
    }
  });
});
