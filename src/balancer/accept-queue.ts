import { open } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';

/** What the kernel holds for a port: connections it has completed that no process has accepted yet. */
export interface AcceptQueue {
  /** Connections waiting, summed over the port's listening sockets (their rx_queue). */
  queued: number;
  /**
   * The listening sockets' tx_queue, summed. /proc prints write_seq - snd_una there, 0 for a
   * listener: unlike `ss`'s Send-Q (read over netlink), it is not the backlog limit.
   */
  txQueue: number;
  /** Listening sockets found on the port: one per worker when workers bind with SO_REUSEPORT (Bun). */
  sockets: number;
}

export interface ListenTarget {
  port: number;
  /** The address listened on; undefined, '', a wildcard (0.0.0.0, ::) or a host name: any address on the port. */
  host?: string;
}

const LISTEN = '0A';

/**
 * Sums the accept queues of the LISTEN sockets on a port from the text of /proc/net/tcp or
 * /proc/net/tcp6. For a listener the kernel prints its accept backlog (sk_ack_backlog) as
 * rx_queue; it stops at the listen() backlog + 1 per socket, beyond which the kernel drops SYNs.
 * Addresses are printed as 32-bit words in host byte order, hence `littleEndian`. Rows it cannot
 * read are skipped.
 */
export function parseAcceptQueue(
  text: string,
  target: ListenTarget,
  littleEndian = os.endianness() === 'LE',
): AcceptQueue {
  const want = wantedAddress(target.host);
  const portHex = `:${target.port.toString(16).toUpperCase().padStart(4, '0')} `;
  const out: AcceptQueue = { queued: 0, txQueue: 0, sockets: 0 };
  for (const line of text.split('\n')) {
    if (!line.includes(portHex)) continue;
    // sl local_address rem_address st tx_queue:rx_queue ...
    const f = line.trim().split(/\s+/);
    const local = /^([0-9A-F]{8}|[0-9A-F]{32}):([0-9A-F]{4})$/.exec(f[1] ?? '');
    const queues = /^([0-9A-F]{8}):([0-9A-F]{8})$/.exec(f[4] ?? '');
    if (f[3] !== LISTEN || !local || !queues || Number.parseInt(local[2]!, 16) !== target.port) continue;
    if (want !== undefined && decodeAddress(local[1]!, littleEndian) !== want) continue;
    out.sockets++;
    out.txQueue += Number.parseInt(queues[1]!, 16);
    out.queued += Number.parseInt(queues[2]!, 16);
  }
  return out;
}

/** The canonical address to match, or undefined when every address on the port matches. */
function wantedAddress(host: string | undefined): string | undefined {
  const c = host ? canonicalAddress(host) : undefined;
  return c === canonicalAddress('0.0.0.0') || c === canonicalAddress('::') ? undefined : c;
}

/** One spelling per address: IPv6, compressed, with an IPv4 address as its IPv4-mapped form. */
function canonicalAddress(ip: string): string | undefined {
  const bare = ip.replace(/%.*$/, ''); // a zone id (fe80::1%eth0) is not part of /proc's address
  const v6 = net.isIPv4(bare) ? `::ffff:${bare}` : net.isIPv6(bare) ? bare : undefined;
  return v6 === undefined ? undefined : new URL(`http://[${v6}]`).hostname;
}

function decodeAddress(hex: string, littleEndian: boolean): string | undefined {
  const bytes: number[] = [];
  for (let w = 0; w < hex.length; w += 8) {
    const word = [0, 2, 4, 6].map((i) => Number.parseInt(hex.slice(w + i, w + i + 2), 16));
    bytes.push(...(littleEndian ? word.reverse() : word));
  }
  if (bytes.length === 4) return canonicalAddress(bytes.join('.'));
  const groups: string[] = [];
  for (let i = 0; i < 16; i += 2) groups.push(((bytes[i]! << 8) | bytes[i + 1]!).toString(16));
  return canonicalAddress(groups.join(':'));
}

const PROC_FILES = ['/proc/net/tcp', '/proc/net/tcp6'];
const CHUNK_BYTES = 4096;
/** ~50,000 listener rows: past that a host's listeners are not read (an undercount, not a stall). */
const MAX_BYTES = 8 << 20;

export interface AcceptQueueReaderOptions {
  /** Default: /proc/net/tcp and /proc/net/tcp6 (Linux only; elsewhere every read is undefined). */
  files?: string[];
  /** Calls closer together than this share one read. */
  minIntervalMs?: number;
}

/**
 * Reads a port's accept queues from /proc, open-read-close, never throwing: a read that fails is
 * undefined. Printing these files costs the kernel a walk of its TCP hash tables (about 7 ms per
 * file on a 262,144-bucket table even with no connections, more with many), so: the kernel prints
 * listeners first (its listening hash before the established one) and a read stops at the first
 * row that is not a listener; only the files that held the port's listeners last time are read
 * again (all of them when those hold none); one read at a time, and at most one per minIntervalMs.
 */
export class AcceptQueueReader {
  private last: { at: number; done: boolean; result: Promise<AcceptQueue | undefined> } | undefined;
  private holding: string[] = [];

  constructor(
    private readonly target: ListenTarget,
    private readonly o: AcceptQueueReaderOptions = {},
  ) {}

  read(now = Date.now()): Promise<AcceptQueue | undefined> {
    if (!this.o.files && process.platform !== 'linux') return Promise.resolve(undefined);
    const last = this.last;
    if (last && (!last.done || now - last.at < (this.o.minIntervalMs ?? 100))) return last.result;
    const entry = { at: now, done: false, result: this.readFiles().catch(() => undefined) };
    entry.result.finally(() => (entry.done = true));
    this.last = entry;
    return entry.result;
  }

  private async readFiles(): Promise<AcceptQueue | undefined> {
    const all = this.o.files ?? PROC_FILES;
    const remembered = this.holding.length ? this.holding : undefined;
    const q = remembered ? await this.sum(remembered) : undefined;
    return q?.sockets ? q : this.sum(all);
  }

  private async sum(files: string[]): Promise<AcceptQueue | undefined> {
    let total: AcceptQueue | undefined;
    const holding: string[] = [];
    for (const file of files) {
      const text = await listenerRows(file);
      if (text === undefined) continue; // tcp6 is absent where IPv6 is disabled
      const q = parseAcceptQueue(text, this.target);
      if (q.sockets) holding.push(file);
      total = {
        queued: (total?.queued ?? 0) + q.queued,
        txQueue: (total?.txQueue ?? 0) + q.txQueue,
        sockets: (total?.sockets ?? 0) + q.sockets,
      };
    }
    this.holding = holding;
    return total;
  }
}

/** The file's whole lines up to its first row that is not a listener (or its end); undefined when unreadable. */
async function listenerRows(file: string): Promise<string | undefined> {
  let fh: Awaited<ReturnType<typeof open>> | undefined;
  try {
    fh = await open(file, 'r');
    const buf = Buffer.allocUnsafe(CHUNK_BYTES);
    let text = '';
    let checked = 0; // where the rows not yet looked at start
    let header = true;
    while (text.length < MAX_BYTES) {
      const { bytesRead } = await fh.read(buf, 0, CHUNK_BYTES, null);
      if (bytesRead === 0) break;
      text += buf.toString('latin1', 0, bytesRead);
      for (let nl = text.indexOf('\n', checked); nl >= 0; nl = text.indexOf('\n', checked)) {
        const row = text.slice(checked, nl);
        checked = nl + 1;
        if (!header && row.trim().split(/\s+/)[3] !== LISTEN) return text.slice(0, checked);
        header = false;
      }
    }
    return text.slice(0, checked);
  } catch {
    return undefined;
  } finally {
    await fh?.close().catch(() => {});
  }
}

/**
 * The synchronous face of the reader for `pendingConnections()`, which the auto-scaler calls once
 * per evaluation and uses at once. Polling /proc often enough to be fresh at any moment would cost
 * a few ms of kernel time every 100 ms; instead each call schedules one read to land `leadMs`
 * before the next call is due (the shortest of the last gaps: evaluations skipped while the pool
 * resizes make longer ones), and answers with the newest reading. Nobody calling: nothing is read.
 */
export class AcceptQueueSampler {
  private latest = 0;
  private lastCallAt: number | undefined;
  private readonly gaps: number[] = [];
  private timer: NodeJS.Timeout | undefined;
  private closed = false;

  constructor(
    private readonly reader: Pick<AcceptQueueReader, 'read'>,
    private readonly leadMs = 100,
  ) {}

  /** Connections waiting in the kernel as of the newest reading; 0 before the first one or without /proc. */
  readonly pending = (now = Date.now()): number => {
    if (this.closed) return this.latest;
    if (this.lastCallAt !== undefined) {
      this.gaps.push(now - this.lastCallAt);
      if (this.gaps.length > 4) this.gaps.shift();
    }
    this.lastCallAt = now;
    clearTimeout(this.timer);
    this.timer = setTimeout(
      () => this.refresh(),
      this.gaps.length ? Math.max(0, Math.min(...this.gaps) - this.leadMs) : 0,
    );
    this.timer.unref();
    return this.latest;
  };

  close(): void {
    this.closed = true;
    clearTimeout(this.timer);
  }

  private refresh(): void {
    void this.reader.read().then((q) => {
      if (!this.closed) this.latest = q?.queued ?? 0;
    });
  }
}
