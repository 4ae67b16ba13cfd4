/**
 * The control-plane benchmark's server process: a real Skiff server (SQLite in --data-dir) as
 * `skiff server` composes it, with the controller's pass timing hook recording every pass, on
 * its own process so its RSS and CPU are its own. Tells its parent where it listens, and answers
 * for the pass durations over the IPC channel. Stops on SIGTERM.
 */
import { parseArgs } from 'node:util';
import { DEFAULT_LIVENESS } from '../../src/server/node-liveness.ts';
import { startServer } from '../../src/server/skiff-server.ts';
import type { ServerReply } from './control-plane-ipc.ts';
import { serverCommandSchema } from './control-plane-ipc.ts';

const { values } = parseArgs({ options: { 'data-dir': { type: 'string' } } });
const dataDir = values['data-dir'];
if (!dataDir) throw new Error('--data-dir is required');
const send = (reply: ServerReply) => process.send?.(reply);

let durationsMs: number[] = [];
const server = await startServer({
  dataDir,
  port: 0,
  listen: '127.0.0.1',
  log: (message) => process.stderr.write(`${message}\n`),
  onControllerPass: (ms) => durationsMs.push(ms),
});
process.on('message', (raw) => {
  const command = serverCommandSchema.parse(raw);
  if (command.cmd === 'passes') {
    send({ event: 'passes', durationsMs });
    durationsMs = [];
  }
});
process.once('SIGTERM', () => {
  void server.close().then(() => process.exit(0));
});
send({
  event: 'listening',
  url: server.url,
  adminToken: server.tokens.admin,
  joinToken: server.tokens.join,
  downAfterMs: DEFAULT_LIVENESS.downAfterMs,
});
