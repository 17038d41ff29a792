// Helpers the benchmark scripts share.
import net from 'node:net';

/** The value after `--name` on the command line, or `d`. */
export const arg = (name, d) => {
  const i = process.argv.indexOf(`--${name}`);
  return i > 0 ? process.argv[i + 1] : d;
};

/** The true median (the mean of the middle two for an even count); NaN for none. */
export const median = (xs) => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length === 0 ? NaN : s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};

/** A loopback port that was free a moment ago. */
export async function freePort() {
  const s = net.createServer();
  await new Promise((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address();
  await new Promise((r) => s.close(r));
  return port;
}

/** Resolves once something accepts TCP connections on the loopback port (10 s at most). */
export async function waitForTcp(port) {
  for (let i = 0; i < 200; i++) {
    const ok = await new Promise((resolve) => {
      const s = net.connect(port, '127.0.0.1', () => (s.destroy(), resolve(true)));
      s.on('error', () => resolve(false));
    });
    if (ok) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error(`port ${port} never answered`);
}

/**
 * The JSON lines a child process prints on `stream` (its stdout), each stamped with `at`
 * (performance.now()): `events` in arrival order, and `next(match)`, which resolves with the
 * first later event that matches.
 */
export function jsonEvents(stream) {
  const events = [];
  const waiters = [];
  let buf = '';
  stream.on('data', (d) => {
    buf += d;
    let nl;
    while ((nl = buf.indexOf('\n')) >= 0) {
      const line = buf.slice(0, nl);
      buf = buf.slice(nl + 1);
      if (!line.startsWith('{')) continue;
      const e = { ...JSON.parse(line), at: performance.now() };
      events.push(e);
      for (const w of [...waiters]) if (w.match(e)) waiters.splice(waiters.indexOf(w), 1) && w.resolve(e);
    }
  });
  return { events, next: (match) => new Promise((resolve) => waiters.push({ match, resolve })) };
}
