/**
 * bench:metrics' scraper in a process of its own (`--client child`), as Prometheus is: GET URL
 * with a bearer token, one request at a time, N times. Prints one JSON line: each scrape's time to
 * the last byte (ms), each body's `skiff_metrics_scrape_duration_seconds` (the server's render of
 * the scrape before it), and the last body.
 *
 *   node bench/harness/scrape-client.ts URL TOKEN N
 */
const [url, token, count] = process.argv.slice(2);
if (url === undefined || token === undefined || count === undefined) throw new Error('URL TOKEN N');
const timesMs: number[] = [];
const renderedS: number[] = [];
let last = '';
for (let i = 0; i < Number(count); i++) {
  const t0 = performance.now();
  const response = await fetch(url, { headers: { authorization: `Bearer ${token}` } });
  const text = await response.text();
  timesMs.push(performance.now() - t0);
  if (!response.ok) throw new Error(`GET ${url}: ${response.status} ${text.slice(0, 200)}`);
  last = text;
  const rendered = /^skiff_metrics_scrape_duration_seconds (\S+)$/m.exec(text)?.[1];
  if (rendered !== undefined) renderedS.push(Number(rendered));
}
process.stdout.write(`${JSON.stringify({ timesMs, renderedS, last })}\n`);
