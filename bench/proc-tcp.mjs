// The TCP connections a process holds (Linux only): for bench/chaos.mjs, the requests a SIGKILL of
// a worker can break. The process's socket inodes come from /proc/<pid>/fd; their states from
// /proc/net/tcp{,6}, or from the kernel's socket diagnostics through `ss`, which filters by state
// and port in the kernel: /proc/net/tcp lists every socket of the namespace, and after a
// connection-per-request run that is ~28,000 TIME_WAIT lines, 0.2-0.8 s to read on a busy machine.
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';

/** The inodes of the sockets among a process's open descriptors (empty if it is gone). */
export function socketInodes(pid) {
  const inodes = new Set();
  let fds;
  try {
    fds = readdirSync(`/proc/${pid}/fd`);
  } catch {
    return inodes;
  }
  for (const fd of fds) {
    try {
      const m = /^socket:\[(\d+)\]$/.exec(readlinkSync(`/proc/${pid}/fd/${fd}`));
      if (m) inodes.add(m[1]);
    } catch {
      // closed meanwhile
    }
  }
  return inodes;
}

/**
 * The ESTABLISHED connections (state 01) whose local port is `port` and whose socket `pid` holds:
 * `total`, and `unread`, those with bytes in the receive queue that the process has not read (a
 * request accepted but not yet taken in by its event loop).
 */
export function establishedOn(pid, port, via = 'proc') {
  return via === 'ss' ? establishedBySs(pid, port) : establishedByProc(pid, port);
}

function establishedByProc(pid, port) {
  const inodes = socketInodes(pid);
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  let total = 0;
  let unread = 0;
  for (const table of ['/proc/net/tcp', '/proc/net/tcp6']) {
    let text;
    try {
      text = readFileSync(table, 'latin1');
    } catch {
      continue;
    }
    // sl local_address rem_address st tx_queue:rx_queue tr:tm->when retrnsmt uid timeout inode ...
    for (const line of text.split('\n').slice(1)) {
      const f = line.trim().split(/\s+/);
      if (f.length < 10 || f[3] !== '01' || !f[1].endsWith(`:${hexPort}`) || !inodes.has(f[9])) continue;
      total++;
      if (Number.parseInt(f[4].split(':')[1], 16) > 0) unread++;
    }
  }
  return { total, unread };
}

/** As establishedOn, from `ss -tnHe state established '( sport = :port )'` (IPv4 and IPv6). */
function establishedBySs(pid, port) {
  const inodes = socketInodes(pid);
  const out = execFileSync('ss', ['-tnHe', 'state', 'established', `( sport = :${port} )`], {
    encoding: 'utf8',
    timeout: 10_000,
  });
  let total = 0;
  let unread = 0;
  // Recv-Q Send-Q Local:Port Peer:Port ino:N ...
  for (const line of out.split('\n')) {
    const ino = /\bino:(\d+)/.exec(line)?.[1];
    if (!ino || !inodes.has(ino)) continue;
    total++;
    if (Number(line.trim().split(/\s+/)[0]) > 0) unread++;
  }
  return { total, unread };
}

/** Whether `ss` runs here. */
export function hasSs() {
  try {
    execFileSync('ss', ['-V'], { stdio: 'ignore', timeout: 5000 });
    return true;
  } catch {
    return false;
  }
}
