import { describe, expect, it } from 'vitest';
import { PROTOCOL_REVISION, primaryRevision } from '../../src/ipc/protocol.js';

describe("the internal protocol's revision, as a worker reads its primary's", () => {
  it('is 1 when the primary said nothing (a 0.1.0 primary) or nothing readable', () => {
    for (const v of [undefined, '', 'x', '0', '-2', '1.5', 'NaN', '1e400'])
      expect(primaryRevision(v), String(v)).toBe(1);
  });

  it('is what the primary said, including revisions newer than this package knows', () => {
    expect(primaryRevision('1')).toBe(1);
    expect(primaryRevision(String(PROTOCOL_REVISION))).toBe(PROTOCOL_REVISION);
    expect(primaryRevision('7')).toBe(7);
    expect(PROTOCOL_REVISION).toBe(2);
  });
});
