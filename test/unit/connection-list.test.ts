import { describe, expect, it } from 'vitest';
import { ConnectionList, type Linked } from '../../src/worker/connection-list.js';

interface Item extends Linked<Item> {
  id: number;
}
const item = (id: number): Item => ({ id, prev: undefined, next: undefined });
const ids = (list: ConnectionList<Item>) => {
  const out: number[] = [];
  list.forEach((i) => out.push(i.id));
  return out;
};

describe('ConnectionList', () => {
  it('keeps opening order and its size through removals at the head, middle and tail', () => {
    const list = new ConnectionList<Item>();
    const items = [1, 2, 3, 4, 5].map(item);
    for (const i of items) list.add(i);
    expect(ids(list)).toEqual([1, 2, 3, 4, 5]);
    list.remove(items[2]!);
    list.remove(items[0]!);
    list.remove(items[4]!);
    expect(ids(list)).toEqual([2, 4]);
    expect(list.size).toBe(2);
    list.add(items[0]!); // re-added after removal: at the end
    expect(ids(list)).toEqual([2, 4, 1]);
    list.remove(items[1]!);
    list.remove(items[3]!);
    list.remove(items[0]!);
    expect(ids(list)).toEqual([]);
    expect(list.size).toBe(0);
    list.add(items[4]!);
    expect(ids(list)).toEqual([5]);
  });

  it('lets forEach remove the item it is visiting', () => {
    const list = new ConnectionList<Item>();
    for (const id of [1, 2, 3, 4]) list.add(item(id));
    const seen: number[] = [];
    list.forEach((i) => {
      seen.push(i.id);
      if (i.id % 2 === 1) list.remove(i);
    });
    expect(seen).toEqual([1, 2, 3, 4]);
    expect(ids(list)).toEqual([2, 4]);
    expect(list.size).toBe(2);
  });
});
