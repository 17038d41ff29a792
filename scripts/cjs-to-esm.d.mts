/** The ES module text of a tsc CommonJS file, or undefined when it is not only what tsc emits. */
export function cjsToEsm(source: string): string | undefined;
