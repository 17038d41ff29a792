/** Media ranges read from one Accept header: more is ignored (a scraper sends three or four). */
const MAX_RANGES = 32;
/** OpenMetrics text versions whose syntax toOpenMetrics() writes (0.0.1 is what Prometheus 2.x also asks for). */
const OPENMETRICS_VERSIONS = new Set(['1.0.0', '0.0.1']);

/**
 * True when the scraper prefers OpenMetrics text to the Prometheus text format: an explicit
 * `application/openmetrics-text` range (of a version we write) with a q-value above 0 and at least
 * that of any range the text format matches (`text/plain`, `text/*` and the full wildcard). A
 * wildcard alone never selects OpenMetrics: browsers, curl and old scrapers keep the text format.
 * Prometheus 2.x sends OpenMetrics 1.0.0 at q=1, 0.0.1 at q=0.75, text/plain at q=0.5 and the
 * wildcard at q=0.1.
 */
export function prefersOpenMetrics(accept: string | string[] | undefined): boolean {
  if (accept === undefined) return false;
  const header = Array.isArray(accept) ? accept.join(',') : accept;
  let om = 0;
  let text = 0;
  for (const range of header.split(',', MAX_RANGES)) {
    const [type = '', ...params] = range.split(';');
    const mediaType = type.trim().toLowerCase();
    let q = 1;
    let version: string | undefined;
    for (const p of params) {
      const eq = p.indexOf('=');
      const key = p.slice(0, eq).trim().toLowerCase();
      const value = p.slice(eq + 1).trim();
      if (key === 'q') q = /^(0(\.\d{0,3})?|1(\.0{0,3})?)$/.test(value) ? Number(value) : -1;
      else if (key === 'version') version = value;
    }
    if (q < 0) continue; // a malformed q-value: the range is ignored
    if (mediaType === 'application/openmetrics-text' && (version === undefined || OPENMETRICS_VERSIONS.has(version)))
      om = Math.max(om, q);
    else if (mediaType === 'text/plain' || mediaType === 'text/*' || mediaType === '*/*') text = Math.max(text, q);
  }
  return om > 0 && om >= text;
}
