/**
 * `skiff top`: the cluster live in a terminal, over the dashboard's stream (`/api/stream`, with
 * the CLI's bearer token). On a terminal: a full-screen view redrawn as changes arrive (at most
 * every 50 ms), keys read in raw mode; scale and roll back go through the same REST routes as
 * `skiff scale` and `skiff rollout undo`, logs through `GET /api/services/NAME/logs?follow=true`.
 * Not on a terminal: the snapshot as plain tables, then one line per change (`--once`: the
 * snapshot only). The stream is redialled with backoff and resynchronised from a fresh snapshot.
 */
import WebSocket from 'ws';
import type { ChangesMessage } from '../../api/stream/messages.ts';
import { parseServerMessage, STREAM_CLOSE_CODES, STREAM_PATH } from '../../api/stream/messages.ts';
import { logLineSchema, serviceViewSchema } from '../../model/views.ts';
import { ApiClient, servicePath } from '../api-client.ts';
import { trustClusterCa } from '../cluster-trust.ts';
import { noPositionals, parseCommandArgs } from '../command-args.ts';
import { COMMAND_OPTIONS } from '../command-options.ts';
import { processConnectionSources, resolveConnection } from '../connection.ts';
import { ApiError, ConnectionError } from '../errors.ts';
import { printText } from '../output.ts';
import { commandUsage } from '../usage.ts';
import { decodeKeys } from './top-keys.ts';
import { plainChangeLines, plainSnapshot, render } from './top-render.ts';
import type { Effect, TopState } from './top-state.ts';
import {
  actionDone,
  applyKey,
  applyMessage,
  connectionChanged,
  initialState,
  logLines,
} from './top-state.ts';

const REDRAW_MIN_MS = 50;
const RECONNECT_FIRST_MS = 250;
const RECONNECT_MAX_MS = 5000;

export async function runTop(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.top,
  });
  if (values.help) return printText(commandUsage('top'));
  noPositionals(positionals);
  const connection = resolveConnection(values, processConnectionSources());
  if (connection.caPem !== undefined) trustClusterCa(connection.caPem);
  const client = new ApiClient(connection);
  const streamUrl = `${connection.serverUrl.replace(/^http/, 'ws')}${STREAM_PATH}`;
  const headers: Record<string, string> = connection.token
    ? { authorization: `Bearer ${connection.token}` }
    : {};
  const interactive = process.stdout.isTTY === true && process.stdin.isTTY === true;
  if (interactive) await runInteractive({ client, streamUrl, headers, server: connection.serverUrl });
  else await runPlain({ streamUrl, headers, once: values.once === true, server: connection.serverUrl });
}

interface StreamOptions {
  readonly streamUrl: string;
  readonly headers: Record<string, string>;
  readonly onMessage: (text: string, send: (text: string) => void) => void;
  readonly onState: (state: 'live' | 'reconnecting', note: string) => void;
  /** A refusal that retrying cannot fix (401/403, or closed as unauthorized). */
  readonly onFatal: (error: Error) => void;
}

/** Dials the stream and redials it (250 ms doubling to 5 s) until stopped. */
function followStream(options: StreamOptions): { stop(): void } {
  let stopped = false;
  let failures = 0;
  let ws: WebSocket | undefined;
  let timer: NodeJS.Timeout | undefined;
  const dial = () => {
    if (stopped) return;
    const socket = new WebSocket(options.streamUrl, { headers: options.headers });
    ws = socket;
    socket.on('open', () => {
      failures = 0;
    });
    socket.on('message', (data) => options.onMessage(String(data), (text) => socket.send(text)));
    socket.on('unexpected-response', (_request, response) => {
      let body = '';
      response.on('data', (chunk: Buffer) => {
        body += chunk.toString();
      });
      response.on('end', () => {
        const status = response.statusCode ?? 0;
        const message = errorText(body) ?? `the server answered ${status}`;
        if (status === 401 || status === 403) {
          stopped = true;
          options.onFatal(new ApiError(status, message, []));
        } else retry(message);
      });
      socket.terminate();
    });
    socket.on('error', (error) => retry(error.message));
    socket.on('close', (code, reason) => {
      if (code === STREAM_CLOSE_CODES.unauthorized) {
        stopped = true;
        options.onFatal(new ApiError(401, String(reason) || 'the session or token ended', []));
        return;
      }
      retry(String(reason) || `closed (${code})`);
    });
  };
  const retry = (note: string) => {
    if (stopped || timer) return;
    failures++;
    options.onState('reconnecting', note);
    const delay = Math.min(RECONNECT_FIRST_MS * 2 ** Math.min(failures - 1, 10), RECONNECT_MAX_MS);
    timer = setTimeout(() => {
      timer = undefined;
      dial();
    }, delay);
  };
  dial();
  return {
    stop() {
      stopped = true;
      if (timer) clearTimeout(timer);
      ws?.removeAllListeners();
      ws?.on('error', () => {});
      ws?.terminate();
    },
  };
}

function errorText(body: string): string | undefined {
  try {
    const parsed: unknown = JSON.parse(body);
    if (typeof parsed === 'object' && parsed !== null && 'error' in parsed) return String(parsed.error);
  } catch {
    // Not JSON.
  }
  return undefined;
}

async function runPlain(options: {
  streamUrl: string;
  headers: Record<string, string>;
  once: boolean;
  server: string;
}): Promise<void> {
  let state = initialState();
  let snapshotPrinted = false;
  await new Promise<void>((resolve, reject) => {
    const stream = followStream({
      streamUrl: options.streamUrl,
      headers: options.headers,
      onMessage: (text, send) => {
        const message = parseServerMessage(text);
        if (!message) return;
        const before = state;
        const outcome = applyMessage(state, message);
        state = outcome.state;
        if (outcome.resync) send(JSON.stringify({ type: 'resync' }));
        if (message.type === 'snapshot' && !snapshotPrinted) {
          snapshotPrinted = true;
          process.stdout.write(`${plainSnapshot(state).join('\n')}\n`);
          if (options.once) {
            stream.stop();
            resolve();
          }
        } else if (message.type === 'snapshot') {
          // After a reconnect or a resync: the state starts over; say so rather than diff it.
          process.stdout.write(
            `-- resynchronised: ${state.services.size} services, ${state.tasks.size} replicas, ${state.nodes.size} nodes\n`,
          );
        } else if (message.type === 'changes' && !outcome.resync) {
          const lines = plainChangeLines(message as ChangesMessage, before);
          if (lines.length > 0) process.stdout.write(`${lines.join('\n')}\n`);
        }
      },
      onState: (connection, note) => {
        if (options.once && !snapshotPrinted && connection === 'reconnecting') {
          stream.stop();
          reject(new ConnectionError(options.server, `cannot open the stream at ${options.server}: ${note}`));
        }
      },
      onFatal: (error) => reject(error),
    });
    process.once('SIGINT', () => {
      stream.stop();
      resolve();
    });
  });
}

interface InteractiveOptions {
  readonly client: ApiClient;
  readonly streamUrl: string;
  readonly headers: Record<string, string>;
  readonly server: string;
}

async function runInteractive(options: InteractiveOptions): Promise<void> {
  const { stdin, stdout } = process;
  let state: TopState = initialState();
  let drawTimer: NodeJS.Timeout | undefined;
  let lastDrawAt = 0;
  let logsAbort: AbortController | undefined;
  let finish: (error?: Error) => void = () => {};
  const done = new Promise<void>((resolve, reject) => {
    finish = (error) => (error ? reject(error) : resolve());
  });

  const draw = () => {
    drawTimer = undefined;
    lastDrawAt = Date.now();
    const lines = render(
      state,
      {
        columns: stdout.columns || 80,
        rows: stdout.rows || 24,
        colour: !process.env.NO_COLOR,
        server: options.server,
      },
      Date.now(),
    );
    // Home, then each line cleared to its end: no flicker from clearing the whole screen.
    stdout.write(`\u001b[H${lines.map((l) => `${l}\u001b[K`).join('\r\n')}\u001b[J`);
  };
  const redraw = () => {
    if (drawTimer) return;
    drawTimer = setTimeout(draw, Math.max(0, REDRAW_MIN_MS - (Date.now() - lastDrawAt)));
  };
  const update = (next: TopState) => {
    state = next;
    redraw();
  };

  const perform = (effect: Effect) => {
    switch (effect.type) {
      case 'quit':
        finish();
        return;
      case 'scale':
        options.client
          .post(servicePath(effect.service, '/scale'), { replicas: effect.replicas }, serviceViewSchema)
          .then(
            (s) => update(actionDone(state, `scaled ${s.name} to ${s.replicas} replica(s)`)),
            (error: unknown) => update(actionDone(state, `scale failed: ${messageOf(error)}`)),
          );
        return;
      case 'rollback':
        options.client.post(servicePath(effect.service, '/rollback'), {}, serviceViewSchema).then(
          (s) => update(actionDone(state, `rolled ${s.name} back: now revision ${s.revision}`)),
          (error: unknown) => update(actionDone(state, `roll back failed: ${messageOf(error)}`)),
        );
        return;
      case 'follow-logs': {
        logsAbort?.abort();
        const abort = new AbortController();
        logsAbort = abort;
        void (async () => {
          try {
            const path = servicePath(effect.service, '/logs?follow=true&tail=200&format=ndjson');
            for await (const line of options.client.stream(path, logLineSchema, abort.signal)) {
              if (effect.replica !== undefined && line.container !== effect.replica) continue;
              update(logLines(state, effect.service, [`${line.container} | ${line.line}`]));
            }
          } catch (error) {
            update(logLines(state, effect.service, [`skiff: ${messageOf(error)}`]));
          }
        })();
        return;
      }
      case 'stop-logs':
        logsAbort?.abort();
        logsAbort = undefined;
        return;
    }
  };

  const onKeys = (chunk: Buffer) => {
    for (const key of decodeKeys(chunk.toString('utf8'))) {
      const outcome = applyKey(state, key);
      update(outcome.state);
      if (outcome.effect) perform(outcome.effect);
    }
  };

  const stream = followStream({
    streamUrl: options.streamUrl,
    headers: options.headers,
    onMessage: (text, send) => {
      const message = parseServerMessage(text);
      if (!message) return;
      const outcome = applyMessage(state, message);
      if (outcome.resync) send(JSON.stringify({ type: 'resync' }));
      update(outcome.state);
    },
    onState: (connection, note) => update(connectionChanged(state, connection, note)),
    onFatal: (error) => finish(error),
  });

  stdout.write('\u001b[?1049h\u001b[?25l');
  stdin.setRawMode(true);
  stdin.on('data', onKeys);
  stdin.resume();
  const onResize = () => redraw();
  stdout.on('resize', onResize);
  // The clock in the header, and "retry in" texts, move even when nothing else does.
  const clock = setInterval(redraw, 1000);
  draw();
  try {
    await done;
  } finally {
    clearInterval(clock);
    if (drawTimer) clearTimeout(drawTimer);
    stream.stop();
    logsAbort?.abort();
    stdout.off('resize', onResize);
    stdin.off('data', onKeys);
    stdin.setRawMode(false);
    stdin.pause();
    stdout.write('\u001b[?25h\u001b[?1049l');
  }
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
