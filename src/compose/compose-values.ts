/**
 * Compose's value syntaxes, each read into what Skiff's spec holds: ports (short and long), byte
 * sizes (`512m`, `1gb`, a bare number of bytes), durations (`1m30s`), healthcheck tests (`CMD`,
 * `CMD-SHELL`, a string), tmpfs entries and ulimits. Each returns a value or throws
 * `ValueProblem` with the reason, which the translator turns into a ComposeError at the key.
 */
import { parseDurationMs } from '../model/duration.ts';
import { isPlainObject } from './merge.ts';

export class ValueProblem extends Error {
  override readonly name = 'ValueProblem';
}

export interface ComposePort {
  container_port: number;
  host_port?: number;
  protocol: 'tcp' | 'udp';
  mode?: 'ingress' | 'host';
  app_protocol?: 'tcp' | 'http';
}

const MAX_PORTS_IN_RANGE = 64;

function portNumber(text: string, what: string): number {
  const port = Number(text);
  if (!Number.isInteger(port) || port < 1 || port > 65535)
    throw new ValueProblem(`${what} "${text}" is not a port`);
  return port;
}

function portRange(text: string, what: string): number[] {
  const [first = '', last] = text.split('-');
  const from = portNumber(first, what);
  const to = last === undefined ? from : portNumber(last, what);
  if (to < from) throw new ValueProblem(`${what} range "${text}" runs backwards`);
  if (to - from + 1 > MAX_PORTS_IN_RANGE)
    throw new ValueProblem(`${what} range "${text}" is over ${MAX_PORTS_IN_RANGE} ports`);
  return Array.from({ length: to - from + 1 }, (_, i) => from + i);
}

/** `"8080"`, `"80:8080"`, `"8000-8001:8000-8001/udp"`, `{target, published, protocol, mode}`. */
export function composePorts(entry: unknown): ComposePort[] {
  if (isPlainObject(entry)) {
    const target = portNumber(String(entry.target ?? ''), 'target');
    const port: ComposePort = { container_port: target, protocol: protocolOf(entry.protocol) };
    if (entry.published !== undefined && entry.published !== null && entry.published !== '')
      port.host_port = portNumber(String(entry.published), 'published');
    if (entry.host_ip !== undefined)
      throw new ValueProblem('host_ip: a stack publishes its ports on every node, not on one address');
    if (entry.mode !== undefined) {
      if (entry.mode !== 'ingress' && entry.mode !== 'host')
        throw new ValueProblem(`mode "${String(entry.mode)}" is not ingress or host`);
      port.mode = entry.mode;
    }
    if (entry.app_protocol !== undefined) {
      if (entry.app_protocol !== 'http' && entry.app_protocol !== 'tcp')
        throw new ValueProblem(`app_protocol "${String(entry.app_protocol)}" is not http or tcp`);
      port.app_protocol = entry.app_protocol;
    }
    return [port];
  }
  if (typeof entry !== 'string' && typeof entry !== 'number')
    throw new ValueProblem('must be a port or a mapping');
  const text = String(entry);
  const [spec = '', protocolText, extra] = text.split('/');
  if (extra !== undefined) throw new ValueProblem(`"${text}" has more than one protocol`);
  const protocol = protocolOf(protocolText);
  const parts = spec.split(':');
  if (parts.length > 3) throw new ValueProblem(`"${text}" is not [[HOST_IP:]PUBLISHED:]TARGET[/PROTOCOL]`);
  if (parts.length === 3)
    throw new ValueProblem(`"${text}": a stack publishes its ports on every node, not on one address`);
  const targets = portRange(parts.at(-1) ?? '', 'target');
  if (parts.length === 1) return targets.map((container_port) => ({ container_port, protocol }));
  const published = portRange(parts[0] ?? '', 'published');
  if (published.length !== targets.length)
    throw new ValueProblem(`"${text}": the published and target ranges differ in length`);
  return targets.map((container_port, i) => ({
    container_port,
    host_port: published[i] as number,
    protocol,
  }));
}

function protocolOf(value: unknown): 'tcp' | 'udp' {
  if (value === undefined || value === null || value === '' || value === 'tcp') return 'tcp';
  if (value === 'udp') return 'udp';
  throw new ValueProblem(`protocol "${String(value)}" is not tcp or udp`);
}

const BYTE_UNITS: Record<string, number> = { b: 1, k: 1024, m: 1024 ** 2, g: 1024 ** 3, t: 1024 ** 4 };

/** Compose byte values: a bare number is bytes; `k`, `m`, `g` (with or without `b`) are binary. */
export function composeBytes(value: unknown): number {
  if (typeof value === 'number' && Number.isFinite(value) && value >= 0) return value;
  const match = /^(\d+(?:\.\d+)?)\s*([bkmgt])?b?$/i.exec(String(value).trim());
  if (!match?.[1]) throw new ValueProblem(`"${String(value)}" is not a size such as 512m or 1gb`);
  return Math.round(Number(match[1]) * (BYTE_UNITS[(match[2] ?? 'b').toLowerCase()] ?? 1));
}

/** A size as whole MiB, rounded up (Skiff's memory fields are MiB). */
export function composeMegabytes(value: unknown): number {
  return Math.max(1, Math.ceil(composeBytes(value) / 1024 ** 2));
}

/** Compose durations (`1m30s`, `10s`, `500ms`) kept as text Skiff reads. */
export function composeDuration(value: unknown): string {
  const text = String(value).trim();
  const ms = parseDurationMs(text);
  if (ms === undefined) throw new ValueProblem(`"${text}" is not a duration such as 10s or 1m30s`);
  return text;
}

/** A healthcheck's `test` as the command Skiff's exec check runs; undefined for `NONE`. */
export function healthcheckCommand(test: unknown): string[] | undefined {
  if (typeof test === 'string') return ['sh', '-c', test];
  if (!Array.isArray(test) || test.length === 0) throw new ValueProblem('test must be a string or a list');
  const [kind, ...args] = test.map(String);
  if (kind === 'NONE') return undefined;
  if (kind === 'CMD') {
    if (args.length === 0) throw new ValueProblem('test ["CMD"] needs a command after CMD');
    return args;
  }
  if (kind === 'CMD-SHELL') {
    if (args.length !== 1) throw new ValueProblem('test ["CMD-SHELL", …] takes exactly one shell command');
    return ['sh', '-c', args[0] as string];
  }
  throw new ValueProblem(`test must start with CMD, CMD-SHELL or NONE, not "${kind}"`);
}

/** `"/run"` or `"/run:size=64m,mode=1777"`; other options are named in `ignored`. */
export function tmpfsEntry(entry: unknown): {
  target: string;
  size_mb?: number;
  mode?: string;
  ignored: string[];
} {
  const text = String(entry);
  const at = text.indexOf(':');
  const target = at === -1 ? text : text.slice(0, at);
  const out: { target: string; size_mb?: number; mode?: string; ignored: string[] } = { target, ignored: [] };
  if (at === -1) return out;
  for (const option of text.slice(at + 1).split(',')) {
    const [key, value = ''] = option.split('=');
    if (key === 'size') out.size_mb = composeMegabytes(value);
    else if (key === 'mode') out.mode = value;
    else if (key) out.ignored.push(key);
  }
  return out;
}

/** `nofile: 20000` or `nofile: {soft, hard}`. */
export function ulimitEntry(value: unknown): { soft: number; hard: number } {
  if (typeof value === 'number') return { soft: value, hard: value };
  if (isPlainObject(value) && typeof value.soft === 'number' && typeof value.hard === 'number')
    return { soft: value.soft, hard: value.hard };
  throw new ValueProblem('must be a number or {soft, hard}');
}

/** Swarm's placement constraint syntax, as Skiff writes it: `node.labels.zone==eu` → `zone==eu`. */
export function placementConstraint(text: string): string {
  const match = /^\s*([A-Za-z0-9_.-]+)\s*(==|!=)\s*(\S+)\s*$/.exec(text);
  if (!match?.[1]) throw new ValueProblem(`"${text}" is not ATTRIBUTE==VALUE or ATTRIBUTE!=VALUE`);
  const [, attribute, operator, value] = match;
  if (attribute.startsWith('node.labels.'))
    return `${attribute.slice('node.labels.'.length)}${operator}${value}`;
  if (attribute === 'node.hostname' || attribute === 'node.id') return `node${operator}${value}`;
  throw new ValueProblem(
    `"${attribute}" is not something Skiff places by (use node.labels.KEY, node.hostname or node.id)`,
  );
}
