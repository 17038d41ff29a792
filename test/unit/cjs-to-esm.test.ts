import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cjsToEsm } from '../../scripts/cjs-to-esm.mjs';
import { ROOT } from '../helpers/cluster-process.js';

// The bundle's conversion of the CommonJS-only OpenTelemetry packages (scripts/cjs-to-esm.mjs).
describe('cjsToEsm', () => {
  it('converts what tsc emits: requires, re-exports, declarations, constants and their uses', () => {
    const source = [
      '"use strict";',
      'Object.defineProperty(exports, "__esModule", { value: true });',
      'exports.Reader = exports.NAME = exports.Thing = void 0;',
      'const sdk_metrics_1 = require("@opentelemetry/sdk-metrics");',
      'var thing_1 = require("./thing");',
      'Object.defineProperty(exports, "Thing", { enumerable: true, get: function () { return thing_1.Inner; } });',
      "exports.NAME = 'reader';",
      'class Reader extends sdk_metrics_1.MetricReader {',
      '    name() { return exports.NAME; }',
      '    load() { return require("@grpc/grpc-js"); }',
      '}',
      'exports.Reader = Reader;',
    ].join('\n');
    expect(cjsToEsm(source)).toBe(
      [
        '"use strict";',
        '',
        '',
        'import * as sdk_metrics_1 from "@opentelemetry/sdk-metrics";',
        'import * as thing_1 from "./thing";',
        'export { Inner as Thing } from "./thing";',
        "export const NAME = 'reader';",
        'class Reader extends sdk_metrics_1.MetricReader {',
        '    name() { return NAME; }',
        '    load() { return require("@grpc/grpc-js"); }',
        '}',
        'export { Reader };',
      ].join('\n'),
    );
  });

  it('leaves a file alone when anything else touches exports or module', () => {
    expect(cjsToEsm('module.exports = { a: 1 };')).toBeUndefined();
    expect(cjsToEsm('function f() { exports.a = 1; }')).toBeUndefined();
    expect(cjsToEsm('__exportStar(require("./x"), exports);')).toBeUndefined();
    expect(cjsToEsm('exports.A = 1;\nexports.A = 2;')).toBeUndefined();
  });

  // A new release that emits something else would leave a package as CommonJS, and its OpenTelemetry
  // imports wrapped again in every process (the bundle also warns).
  it('converts every file of the CommonJS-only packages installed', () => {
    const packages = [
      'exporter-prometheus',
      'host-metrics',
      'exporter-metrics-otlp-grpc',
      'exporter-trace-otlp-grpc',
      'otlp-grpc-exporter-base',
    ];
    const files = packages.flatMap((p) => {
      const dir = path.join(ROOT, 'node_modules/@opentelemetry', p, 'build/src');
      return readdirSync(dir, { recursive: true, encoding: 'utf8' })
        .filter((f) => f.endsWith('.js'))
        .map((f) => path.join(dir, f));
    });
    expect(files.length).toBeGreaterThan(20);
    expect(files.filter((f) => cjsToEsm(readFileSync(f, 'utf8')) === undefined)).toEqual([]);
  });
});
