/** What a list entry carries: its own links, so adding and removing allocate and hash nothing. */
export interface Linked<T> {
  prev: T | undefined;
  next: T | undefined;
}

/**
 * An intrusive doubly linked list of open connections, oldest first. The worker adds and removes a
 * connection for every TCP connection it serves, tens of thousands per second under short-lived
 * clients: a Map keyed by socket, churned that fast, doubled the worker's scavenge time and grew
 * its old generation faster (measured with --trace-gc, bench/RESULTS.md), where this costs a few
 * pointer writes each way and allocates nothing.
 */
export class ConnectionList<T extends Linked<T>> {
  private head: T | undefined;
  private tail: T | undefined;
  private count = 0;

  get size(): number {
    return this.count;
  }

  add(item: T): void {
    item.prev = this.tail;
    item.next = undefined;
    if (this.tail) this.tail.next = item;
    else this.head = item;
    this.tail = item;
    this.count++;
  }

  /** Removes an item that is in this list (the caller knows: each item is removed once). */
  remove(item: T): void {
    if (item.prev) item.prev.next = item.next;
    else this.head = item.next;
    if (item.next) item.next.prev = item.prev;
    else this.tail = item.prev;
    item.prev = item.next = undefined;
    this.count--;
  }

  /** Oldest first. `fn` may remove the item it is given (the next one is read before the call). */
  forEach(fn: (item: T) => void): void {
    for (let item = this.head; item; ) {
      const next: T | undefined = item.next;
      fn(item);
      item = next;
    }
  }
}
