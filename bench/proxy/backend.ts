/**
 * The bench's backend: a small Node HTTP server (keep-alive, a fixed 3-byte body), run by
 * `bench/proxy.ts` inside a replica's network namespace so it answers on the replica's address.
 * Usage: node bench/proxy/backend.ts PORT
 */
import { createServer } from 'node:http';

const port = Number(process.argv[2] ?? 9090);
const body = Buffer.from('ok\n');
const server = createServer((_req, res) => {
  res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length });
  res.end(body);
});
server.keepAliveTimeout = 60_000;
server.listen(port, '0.0.0.0', () => process.stdout.write(`listening on ${port}\n`));
process.on('SIGTERM', () => process.exit(0));
