import { describe, expect, it } from 'vitest';
import { parseDiskstats, parseMounts } from '../../otel/disk-metrics.js';

describe('disk metrics parsing', () => {
  it('reads whole disks from /proc/diskstats, in bytes of 512-byte sectors', () => {
    const text = [
      '   7       0 loop0 10 0 80 0 0 0 0 0 0 0 0 0 0 0 0 0 0',
      ' 254       0 vda 1200 30 96000 500 3400 120 262144 9000 0 7000 9500 0 0 0 0 0 0',
      ' 254       1 vda1 1100 30 90000 480 3300 120 260000 8900 0 6900 9300 0 0 0 0 0 0',
      'short line',
    ].join('\n');
    const disks = parseDiskstats(text, (d) => d === 'vda' || d === 'loop0');
    expect(disks).toEqual([
      { device: 'loop0', reads: 10, readBytes: 80 * 512, writes: 0, writeBytes: 0 },
      { device: 'vda', reads: 1200, readBytes: 96000 * 512, writes: 3400, writeBytes: 262144 * 512 },
    ]);
  });

  it('keeps block-device and overlay mounts, each device once, decoding spaces', () => {
    const text = [
      'proc /proc proc rw 0 0',
      '/dev/vda / ext4 rw 0 0',
      '/dev/vda /var/lib/docker ext4 rw 0 0',
      'overlay /merged overlay rw 0 0',
      '/dev/loop3 /snap/x squashfs ro 0 0',
      '/dev/sdb1 /mnt/my\\040disk xfs rw 0 0',
    ].join('\n');
    expect(parseMounts(text)).toEqual([
      { device: '/dev/vda', mountpoint: '/', type: 'ext4' },
      { device: 'overlay', mountpoint: '/merged', type: 'overlay' },
      { device: '/dev/sdb1', mountpoint: '/mnt/my disk', type: 'xfs' },
    ]);
  });
});
