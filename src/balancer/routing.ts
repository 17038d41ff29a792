import type { Logger } from '../logger.js';
import type { Supervisor } from '../supervisor/supervisor.js';
import type { WorkerHandle } from '../supervisor/worker-handle.js';
import { type CpuGateConfig, type CpuGateState, eligible, nextCpuGate, OPEN } from './cpu-gate.js';
import { planAfterJoin, planForImbalance, type ShedOrder } from './rebalance.js';
import {
  leastConnections,
  leastLoad,
  RoundRobin,
  type Strategy,
  type StrategyName,
  type WorkerLoad,
} from './strategy.js';

export interface RoutingOptions {
  strategy: StrategyName;
  rebalance: boolean;
  imbalanceThreshold: number;
  /** Cores; undefined: no CPU limit. */
  cpuLimit: number | undefined;
  cpuSustainMs: number;
  cpuRecoverMs: number;
  /** CPU in cores of a pid, from the primary's sampler; undefined when unknown. */
  cpuOf: (pid: number) => number | undefined;
  /** Event-loop delay (p99, s) a worker process last reported; undefined when unknown (telemetry off). */
  eventLoopDelayOf: (slot: number, pid: number) => number | undefined;
  intervalMs: number;
}

/**
 * Which workers may take new connections and which one does: the strategy over the eligible ready
 * workers (CPU limit with hysteresis), plus keep-alive rebalancing after the pool grows and when
 * connections pile up on one worker. Every change of routability is logged and emitted.
 */
export class Routing {
  readonly strategy: Strategy<WorkerHandle>;
  private readonly timer: NodeJS.Timeout;
  private readonly gate: CpuGateConfig | undefined;
  /** The CPU limit's hysteresis state per worker (gone with the handle). */
  private readonly cpuGates = new WeakMap<WorkerHandle, CpuGateState>();

  constructor(
    private readonly sup: Supervisor,
    private readonly o: RoutingOptions,
    private readonly logger: Logger,
  ) {
    // Connections handed over but not yet adopted at the last heartbeat count as open, so a burst
    // is spread, and none is lost or counted twice when a heartbeat crosses a hand-off.
    const load = (h: WorkerHandle): WorkerLoad => ({ ...h.load, openConnections: h.openConnections });
    const inner =
      o.strategy === 'least-connections'
        ? leastConnections(load)
        : o.strategy === 'least-load'
          ? leastLoad(load)
          : new RoundRobin<WorkerHandle>();
    this.strategy = {
      pick: (candidates) => {
        const h = inner.pick(candidates);
        if (h) h.handedOne();
        return h;
      },
    };
    this.gate =
      o.cpuLimit === undefined
        ? undefined
        : { limit: o.cpuLimit, sustainMs: o.cpuSustainMs, recoverMs: o.cpuRecoverMs, recoverRatio: 0.8 };
    if (o.rebalance) sup.on('worker:ready', (e) => this.afterJoin(e.slot));
    this.timer = setInterval(() => this.tick(), o.intervalMs);
    this.timer.unref();
  }

  /** Ready workers that may take new connections (never none while some are ready). */
  candidates(): WorkerHandle[] {
    return eligible(this.sup.readyWorkers(), (h) => this.sup.exclusions.isExcluded(h));
  }

  close(): void {
    clearInterval(this.timer);
  }

  private tick(): void {
    const now = Date.now();
    for (const h of this.sup.readyWorkers()) {
      const eventLoopDelayS = this.o.eventLoopDelayOf(h.slot, h.pid);
      if (eventLoopDelayS !== undefined) h.measured({ eventLoopDelayS });
      const cpu = this.o.cpuOf(h.pid);
      if (cpu === undefined) continue;
      h.measured({ cpu });
      if (!this.gate) continue;
      const before = this.cpuGates.get(h) ?? OPEN;
      const after = nextCpuGate(before, cpu, now, this.gate);
      this.cpuGates.set(h, after);
      if (after.excluded === before.excluded) continue;
      if (after.excluded) this.sup.exclusions.exclude(h, 'cpu-over-limit', { cpu });
      else this.sup.exclusions.readmit(h, 'cpu-over-limit', 'cpu-recovered', { cpu });
    }
    if (this.o.rebalance) this.shed(planForImbalance(this.loads(), this.o.imbalanceThreshold), 'imbalance');
  }

  private afterJoin(slot: number): void {
    this.shed(planAfterJoin(this.loads(), slot), 'worker-joined');
  }

  private loads() {
    // Reported counts only: the estimate between heartbeats counts recent hand-offs whose closes are
    // not known yet, which under connection-per-request traffic looks like an imbalance every tick.
    return this.sup.readyWorkers().map((h) => ({ slot: h.slot, connections: h.load.openConnections }));
  }

  private shed(orders: ShedOrder[], reason: string): void {
    for (const o of orders) {
      const h = this.sup.current(o.slot);
      if (h?.state !== 'ready') continue;
      this.logger.info(
        {
          slot: h.slot,
          pid: h.pid,
          reason,
          share: Math.round(o.share * 100) / 100,
          connections: h.load.openConnections,
        },
        'rebalancing keep-alive connections',
      );
      h.send({ t: 'rebalance', share: o.share }).catch(() => {});
    }
  }
}
