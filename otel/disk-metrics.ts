import fs, { readFileSync } from 'node:fs';
import type { Meter } from '@opentelemetry/api';

/**
 * Host disk metrics with the semantic-conventions names host-metrics does not provide, read on each
 * collection (no timer of its own):
 * - `system.disk.io` (By) and `system.disk.operations` ({operation}), counters by `system.device` and
 *   `disk.io.direction` (read, write), from /proc/diskstats (whole disks: partitions, loop and ram
 *   devices left out, as their I/O is counted on the disk);
 * - `system.filesystem.usage` (By, `system.filesystem.state` used, free, reserved) and
 *   `system.filesystem.utilization` (0..1) by `system.device`, `system.filesystem.mountpoint` and
 *   `system.filesystem.type`, from statfs(2) on each mounted block-device or overlay filesystem.
 * Linux only: elsewhere (or without /proc) nothing is observed.
 */
export function registerDiskMetrics(meter: Meter): void {
  const io = meter.createObservableCounter('system.disk.io', { unit: 'By', description: 'Disk bytes transferred.' });
  const ops = meter.createObservableCounter('system.disk.operations', {
    unit: '{operation}',
    description: 'Disk operations completed.',
  });
  meter.addBatchObservableCallback(
    (r) => {
      for (const d of readDiskstats()) {
        r.observe(io, d.readBytes, { 'system.device': d.device, 'disk.io.direction': 'read' });
        r.observe(io, d.writeBytes, { 'system.device': d.device, 'disk.io.direction': 'write' });
        r.observe(ops, d.reads, { 'system.device': d.device, 'disk.io.direction': 'read' });
        r.observe(ops, d.writes, { 'system.device': d.device, 'disk.io.direction': 'write' });
      }
    },
    [io, ops],
  );
  const usage = meter.createObservableUpDownCounter('system.filesystem.usage', {
    unit: 'By',
    description: 'Filesystem space by state.',
  });
  const utilization = meter.createObservableGauge('system.filesystem.utilization', {
    unit: '1',
    description: 'Share of the filesystem space used (used / (used + free)).',
  });
  meter.addBatchObservableCallback(
    (r) => {
      for (const f of readFilesystems()) {
        const base = {
          'system.device': f.device,
          'system.filesystem.mountpoint': f.mountpoint,
          'system.filesystem.type': f.type,
        };
        r.observe(usage, f.used, { ...base, 'system.filesystem.state': 'used' });
        r.observe(usage, f.free, { ...base, 'system.filesystem.state': 'free' });
        r.observe(usage, f.reserved, { ...base, 'system.filesystem.state': 'reserved' });
        if (f.used + f.free > 0) r.observe(utilization, f.used / (f.used + f.free), base);
      }
    },
    [usage, utilization],
  );
}

export interface DiskReading {
  device: string;
  reads: number;
  readBytes: number;
  writes: number;
  writeBytes: number;
}

/** /proc/diskstats sectors are 512 bytes whatever the device's sector size (Documentation/admin-guide/iostats.rst). */
const SECTOR_BYTES = 512;

/** Whole disks from /proc/diskstats text (a partition's I/O is also counted on its disk). */
export function parseDiskstats(text: string, isWholeDisk: (device: string) => boolean = wholeDisk): DiskReading[] {
  const out: DiskReading[] = [];
  for (const line of text.split('\n')) {
    const f = line.trim().split(/\s+/);
    if (f.length < 14) continue;
    const device = f[2]!;
    if (!isWholeDisk(device)) continue;
    out.push({
      device,
      reads: Number(f[3]),
      readBytes: Number(f[5]) * SECTOR_BYTES,
      writes: Number(f[7]),
      writeBytes: Number(f[9]) * SECTOR_BYTES,
    });
  }
  return out;
}

/** A disk (has /sys/block/<name>) that is not a loop, ram or zram device. */
function wholeDisk(device: string): boolean {
  if (/^(loop|ram|zram)\d/.test(device)) return false;
  try {
    readFileSync(`/sys/block/${device}/size`);
    return true;
  } catch {
    return false;
  }
}

function readDiskstats(): DiskReading[] {
  try {
    return parseDiskstats(readFileSync('/proc/diskstats', 'utf8'));
  } catch {
    return [];
  }
}

export interface FilesystemReading {
  device: string;
  mountpoint: string;
  type: string;
  used: number;
  free: number;
  reserved: number;
}

/** Mounts worth reporting from /proc/mounts text: block devices and overlay roots, each device once. */
export function parseMounts(text: string): { device: string; mountpoint: string; type: string }[] {
  const seen = new Set<string>();
  const out: { device: string; mountpoint: string; type: string }[] = [];
  for (const line of text.split('\n')) {
    const [device, mountpoint, type] = line.split(' ');
    if (!device || !mountpoint || !type) continue;
    if (!(device.startsWith('/dev/') || type === 'overlay') || device.startsWith('/dev/loop')) continue;
    if (seen.has(device)) continue;
    seen.add(device);
    out.push({ device, mountpoint: mountpoint.replace(/\\040/g, ' '), type });
  }
  return out;
}

function readFilesystems(): FilesystemReading[] {
  let mounts: { device: string; mountpoint: string; type: string }[];
  try {
    mounts = parseMounts(readFileSync('/proc/mounts', 'utf8'));
  } catch {
    return [];
  }
  const out: FilesystemReading[] = [];
  for (const m of mounts) {
    try {
      const s = fs.statfsSync(m.mountpoint); // a runtime without statfs throws here: skipped
      // bfree counts blocks free to root; bavail those free to users: the gap is reserved.
      out.push({
        ...m,
        used: (s.blocks - s.bfree) * s.bsize,
        free: s.bavail * s.bsize,
        reserved: (s.bfree - s.bavail) * s.bsize,
      });
    } catch {
      // unmounted meanwhile, or not permitted: skipped
    }
  }
  return out;
}
