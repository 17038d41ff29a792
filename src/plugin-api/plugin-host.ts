import { PluginError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { CloseHook, MaybePromise, Plugin, PluginContextBase } from './contexts.js';

export type { Plugin, PluginContextBase } from './contexts.js';

/**
 * Starts plugins in registration order, each within a timeout, and closes them in reverse.
 * Built-in capabilities use the same interface, so a user's plugin has the same power as ours.
 */
export class PluginHost {
  private readonly closeHooks: { name: string; hook: CloseHook }[] = [];
  private closing: Promise<void> | undefined;

  constructor(
    private readonly plugins: readonly Plugin<never, never>[],
    private readonly logger: Logger,
    private readonly startTimeoutMs = 10_000,
  ) {
    const seen = new Set<string>();
    for (const p of plugins) {
      if (seen.has(p.name))
        throw new PluginError(`plugin "${p.name}" is registered twice; plugin names must be unique`);
      for (const dep of p.dependencies ?? [])
        if (!seen.has(dep))
          throw new PluginError(
            `plugin "${p.name}" depends on "${dep}", which is ${plugins.some((q) => q.name === dep) ? 'registered after it; register it first' : 'not registered'}`,
          );
      seen.add(p.name);
    }
  }

  /** A close hook of the host's own (registered before plugins start, so it runs after theirs). */
  addCloseHook(name: string, hook: CloseHook): void {
    this.closeHooks.push({ name, hook });
  }

  async start<K extends 'primary' | 'worker'>(
    role: K,
    makeContext: (base: PluginContextBase) => object,
  ): Promise<void> {
    for (const plugin of this.plugins) {
      const hook = plugin[role] as ((ctx: object) => MaybePromise<void>) | undefined;
      if (!hook) continue;
      const base: PluginContextBase = {
        logger: this.logger.child({ plugin: plugin.name }),
        onClose: (h) => this.closeHooks.push({ name: plugin.name, hook: h }),
      };
      let timer: NodeJS.Timeout | undefined;
      const timeout = new Promise<never>((_, reject) => {
        timer = setTimeout(
          () =>
            reject(
              new PluginError(
                `plugin "${plugin.name}" did not finish starting (${role}) within ${this.startTimeoutMs} ms`,
              ),
            ),
          this.startTimeoutMs,
        );
        timer.unref();
      });
      try {
        await Promise.race([Promise.resolve().then(() => hook.call(plugin, makeContext(base))), timeout]);
      } catch (err) {
        throw err instanceof PluginError
          ? err
          : new PluginError(`plugin "${plugin.name}" failed to start (${role}): ${(err as Error)?.message ?? err}`, {
              cause: err,
            });
      } finally {
        clearTimeout(timer);
      }
    }
  }

  /** Runs close hooks last-registered-first; a failing hook is logged and the rest still run. Idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      for (const { name, hook } of this.closeHooks.reverse()) {
        try {
          await hook();
        } catch (err) {
          this.logger.error({ plugin: name, err }, 'plugin close hook failed');
        }
      }
    })();
    return this.closing;
  }
}
