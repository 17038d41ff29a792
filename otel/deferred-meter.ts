import type {
  Attributes,
  BatchObservableCallback,
  Meter,
  MeterOptions,
  MeterProvider,
  Observable,
} from '@opentelemetry/api';

/** How many measurements an unbound sync instrument keeps; beyond, they are counted and dropped. */
export const PENDING_LIMIT = 10_000;

type Call = [method: string, args: unknown[]];

/**
 * An instrument handed out before the SDK exists. It queues what is done to it (adds, records,
 * callbacks) and replays the queue on the real instrument once bound; after that every call goes
 * straight through.
 */
class DeferredInstrument {
  private real: Record<string, (...args: unknown[]) => unknown> | undefined;
  private queue: Call[] = [];

  /** The real instrument, once bound. */
  get bound(): unknown {
    return this.real;
  }

  constructor(
    readonly create: string,
    readonly name: string,
    readonly options: unknown,
    private readonly owner: DeferredMeterProvider,
  ) {}

  bind(meter: Meter): void {
    this.real = (
      meter as unknown as Record<string, (...a: unknown[]) => Record<string, (...args: unknown[]) => unknown>>
    )[this.create]!(this.name, this.options);
    for (const [method, args] of this.queue) this.real[method]!(...args);
    this.queue = [];
  }

  call(method: string, args: unknown[]): void {
    if (this.real) this.real[method]!(...args);
    else if (method === 'addCallback' || method === 'removeCallback' || this.owner.pending < PENDING_LIMIT) {
      this.queue.push([method, args]);
      if (method !== 'addCallback' && method !== 'removeCallback') this.owner.pending++;
    } else this.owner.dropped++;
  }

  // The api's instrument interfaces: sync instruments add or record, observables take callbacks.
  add(...args: unknown[]): void {
    this.call('add', args);
  }
  record(...args: unknown[]): void {
    this.call('record', args);
  }
  addCallback(...args: unknown[]): void {
    this.call('addCallback', args);
  }
  removeCallback(...args: unknown[]): void {
    this.call('removeCallback', args);
  }
}

const CREATE = [
  'createCounter',
  'createUpDownCounter',
  'createHistogram',
  'createGauge',
  'createObservableCounter',
  'createObservableUpDownCounter',
  'createObservableGauge',
] as const;

class DeferredMeter {
  instruments: DeferredInstrument[] = [];
  batch: Call[] = [];
  real: Meter | undefined;

  constructor(owner: DeferredMeterProvider) {
    for (const create of CREATE)
      (this as unknown as Record<string, unknown>)[create] = (name: string, options?: unknown) => {
        if (this.real)
          return (this.real as unknown as Record<string, (n: string, o?: unknown) => unknown>)[create]!(name, options);
        const i = new DeferredInstrument(create, name, options, owner);
        this.instruments.push(i);
        return i;
      };
  }

  addBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    if (this.real) this.real.addBatchObservableCallback(this.wrap(callback), observables.map(realOf));
    else this.batch.push(['addBatchObservableCallback', [callback, observables]]);
  }

  removeBatchObservableCallback(callback: BatchObservableCallback, observables: Observable[]): void {
    if (this.real) this.real.removeBatchObservableCallback(this.wrap(callback), observables.map(realOf));
    else this.batch.push(['removeBatchObservableCallback', [callback, observables]]);
  }

  bind(meter: Meter): void {
    this.real = meter;
    for (const i of this.instruments) i.bind(meter);
    for (const [method, [cb, obs]] of this.batch)
      (this as unknown as Record<string, (c: unknown, o: unknown) => void>)[method]!(cb, obs);
    this.instruments = [];
    this.batch = [];
  }

  /** A batch callback observes the observables it was given, deferred ones included: map them to the real ones. */
  private readonly wrapped = new Map<BatchObservableCallback, BatchObservableCallback>();
  private wrap(cb: BatchObservableCallback): BatchObservableCallback {
    let w = this.wrapped.get(cb);
    if (!w) {
      w = (result) => cb({ observe: (o: Observable, v: number, a?: Attributes) => result.observe(realOf(o), v, a) });
      this.wrapped.set(cb, w);
    }
    return w;
  }
}

/** The real observable behind a deferred one (itself when it is real). */
function realOf(o: Observable): Observable {
  return o instanceof DeferredInstrument ? (o.bound as unknown as Observable) : o;
}

/**
 * The primary's MeterProvider before its SDK has started: meters and instruments work at once, and
 * what they record is replayed into the real provider when `bind()` is called. It lets the primary
 * fork its workers before loading the SDK and exporters, which takes longer than a worker's start.
 * Invariant: bind() is called once; measurements beyond PENDING_LIMIT before it are dropped and
 * counted in `dropped`.
 */
export class DeferredMeterProvider implements MeterProvider {
  pending = 0;
  dropped = 0;
  private target: MeterProvider | undefined;
  private readonly meters: {
    name: string;
    version: string | undefined;
    options: MeterOptions | undefined;
    meter: DeferredMeter;
  }[] = [];

  getMeter(name: string, version?: string, options?: MeterOptions): Meter {
    if (this.target) return this.target.getMeter(name, version, options);
    const meter = new DeferredMeter(this);
    this.meters.push({ name, version, options, meter });
    return meter as unknown as Meter;
  }

  bind(target: MeterProvider): void {
    if (this.target) return;
    this.target = target;
    for (const m of this.meters) m.meter.bind(target.getMeter(m.name, m.version, m.options));
    this.meters.length = 0;
  }
}

/** A DeferredMeterProvider offered as the global one; `held` is false when another was there first. */
export interface HeldMeterProvider {
  provider: DeferredMeterProvider;
  held: boolean;
}
