import path from 'node:path';

/** service.name: the option, else OTEL_SERVICE_NAME, else the entry script's name. */
export function serviceNameFor(option: string | undefined): string {
  return (
    option ?? process.env.OTEL_SERVICE_NAME ?? path.basename(process.argv[1] ?? 'app').replace(/\.[cm]?[jt]s$/, '')
  );
}
