import net from 'node:net';
import { ListenError, PortInUseError } from '../errors.js';

/** listen() as a promise, with EADDRINUSE and friends turned into typed errors. */
export function listenOrThrow(
  server: net.Server,
  port: number,
  host: string | undefined,
  what = 'server',
): Promise<{ host: string; port: number }> {
  return new Promise((resolve, reject) => {
    const onError = (err: NodeJS.ErrnoException) => {
      const where = `${host ?? '(all interfaces)'}:${port}`;
      reject(
        err.code === 'EADDRINUSE'
          ? new PortInUseError(`${what} cannot listen on ${where}: address already in use`, { cause: err })
          : new ListenError(`${what} cannot listen on ${where}: ${err.message}`, { cause: err }),
      );
    };
    server.once('error', onError);
    server.listen(port, host, () => {
      server.off('error', onError);
      const addr = server.address() as net.AddressInfo;
      resolve({ host: addr.address, port: addr.port });
    });
  });
}

/**
 * For shared (reusePort) mode: checks the port is free and resolves port 0 to a real port. The
 * probe socket is closed before workers bind, so another program could take the port in between;
 * workers then fail to listen and the error surfaces as failed starts.
 */
export async function reservePort(port: number, host: string | undefined): Promise<{ host: string; port: number }> {
  const probe = net.createServer();
  const addr = await listenOrThrow(probe, port, host);
  await new Promise<void>((r) => probe.close(() => r()));
  return addr;
}
