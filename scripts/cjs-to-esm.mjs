// The OpenTelemetry packages published as CommonJS only (exporter-prometheus, host-metrics, the gRPC
// exporters) as ES modules, for the bundle. Why: esbuild bundles an ES module that a CommonJS file
// require()s as a lazily initialised wrapper, and every module it imports too, so the require()s of
// these packages turned most of sdk-metrics, core and resources into wrappers that are neither
// tree-shaken nor hoisted, in every process, a worker included (one loaded ~90 KB more code and
// ~2 MiB more memory for packages only the primary runs). Converted, they import those packages'
// ES module builds as our own code does.
//
// The conversion reads what tsc emits for CommonJS, line by line, and nothing else:
//   Object.defineProperty(exports, "__esModule", ...)   dropped
//   exports.A = exports.B = void 0;                      dropped
//   const x_1 = require("m");  (top level)               import * as x_1 from "m";
//   Object.defineProperty(exports, "A", { ... get: function () { return x_1.B; } });
//                                                        export { B as A } from "m";
//   exports.A = A;                                       export { A };
//   exports.A = <expression>;  (top level)               export const A = <expression>; (exports.A -> A)
// A file with anything else that touches `exports` or `module` is left as CommonJS (and reported by
// the caller): a wrong conversion would be worse than a wrapper.

const REQUIRE = /^(?:const|var|let) (\w+) = require\("([^"]+)"\);$/;
const REEXPORT =
  /^Object\.defineProperty\(exports, "(\w+)", \{ enumerable: true, get: function \(\) \{ return (\w+)\.(\w+); \} \}\);$/;
const ESMODULE = /^Object\.defineProperty\(exports, "__esModule", \{ value: true \}\);$/;
const DECLARE = /^exports\.\w+ = (?:exports\.\w+ = )*void 0;$/;
const SELF = /^exports\.(\w+) = \1;$/;
const VALUE = /^exports\.(\w+) = (.+);$/;

/** The ES module text of a tsc CommonJS file, or undefined when it is not only what tsc emits. */
export function cjsToEsm(source) {
  const specOf = new Map();
  const values = [];
  const out = source.split('\n').map((line) => {
    if (ESMODULE.test(line) || DECLARE.test(line)) return '';
    let m = REQUIRE.exec(line);
    if (m) {
      specOf.set(m[1], m[2]);
      return `import * as ${m[1]} from ${JSON.stringify(m[2])};`;
    }
    m = REEXPORT.exec(line);
    if (m && specOf.has(m[2])) return `export { ${m[3]} as ${m[1]} } from ${JSON.stringify(specOf.get(m[2]))};`;
    m = SELF.exec(line);
    if (m) return `export { ${m[1]} };`;
    m = VALUE.exec(line);
    if (m) {
      values.push(m[1]);
      return `export const ${m[1]} = ${m[2]};`;
    }
    return line;
  });
  if (new Set(values).size !== values.length) return undefined; // assigned twice: not a constant
  let text = out.join('\n');
  for (const name of values) text = text.replace(new RegExp(`\\bexports\\.${name}\\b`, 'g'), name);
  return /\bexports\b|\bmodule\.exports\b/.test(text) ? undefined : text;
}
