import { describe, expect, it } from 'vitest';
import { PluginError } from '../../src/errors.js';
import { createLogger } from '../../src/logger.js';
import { type Plugin, PluginHost } from '../../src/plugin-api/plugin-host.js';

const logger = createLogger(false, {});

describe('PluginHost', () => {
  it('rejects duplicate names and unmet or misordered dependencies, naming the plugins', () => {
    expect(() => new PluginHost([{ name: 'a' }, { name: 'a' }], logger)).toThrow(/plugin "a" is registered twice/);
    expect(() => new PluginHost([{ name: 'b', dependencies: ['a'] }], logger)).toThrow(
      /"b" depends on "a", which is not registered/,
    );
    expect(() => new PluginHost([{ name: 'b', dependencies: ['a'] }, { name: 'a' }], logger)).toThrow(
      /registered after it/,
    );
    expect(() => new PluginHost([{ name: 'a' }, { name: 'b', dependencies: ['a'] }], logger)).not.toThrow();
  });

  it('starts in order and closes last-registered-first, running every hook even if one fails', async () => {
    const log: string[] = [];
    const mk = (name: string, failClose = false): Plugin<unknown, { onClose(h: () => void): void }> => ({
      name,
      worker(ctx) {
        log.push(`start ${name}`);
        ctx.onClose(() => {
          log.push(`close ${name}`);
          if (failClose) throw new Error('close failed');
        });
      },
    });
    const host = new PluginHost([mk('a'), mk('b', true), mk('c')] as Plugin[], logger);
    host.addCloseHook('host', () => void log.push('close host'));
    await host.start('worker', (base) => base);
    await host.close();
    await host.close(); // idempotent
    expect(log).toEqual(['start a', 'start b', 'start c', 'close c', 'close b', 'close a', 'close host']);
  });

  it('fails a plugin that does not finish starting in time, with a typed error naming it', async () => {
    const host = new PluginHost([{ name: 'slowpoke', worker: () => new Promise(() => {}) }], logger, 50);
    const err = await host.start('worker', (b) => b).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(PluginError);
    expect((err as Error).message).toMatch(/plugin "slowpoke" did not finish starting \(worker\) within 50 ms/);
  });

  it('wraps a throwing plugin in a PluginError naming it', async () => {
    const host = new PluginHost(
      [
        {
          name: 'broken',
          primary: () => {
            throw new Error('nope');
          },
        },
      ],
      logger,
    );
    await expect(host.start('primary', (b) => b)).rejects.toThrow(/plugin "broken" failed to start \(primary\): nope/);
  });
});
