/** A routing strategy picks one of the workers that may take a new connection. */
export interface Strategy<W> {
  pick(candidates: readonly W[]): W | undefined;
}

export class RoundRobin<W> implements Strategy<W> {
  private next = 0;
  pick(candidates: readonly W[]): W | undefined {
    if (candidates.length === 0) return undefined;
    if (this.next >= candidates.length) this.next = 0;
    return candidates[this.next++];
  }
}
