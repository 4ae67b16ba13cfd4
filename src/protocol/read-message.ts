/**
 * Reading a message off the agent WebSocket, in either direction. Three outcomes: a message we
 * know, a message of a type we do not know (a newer peer: ignored, never fatal), or a bad one
 * (not JSON, or a known type that fails its schema), with a short reason for the log. A message
 * whose schema is its type alone (a heartbeat: a few hundred a second at 1,000 nodes) is read
 * without zod, as the schema would read it: the exact text at once, else the type after parsing.
 */
import type { z } from 'zod';
import type { AgentMessage, ServerMessage } from './messages.ts';
import { agentMessageSchema, serverMessageSchema } from './messages.ts';

export type ReadResult<M> =
  | { readonly kind: 'ok'; readonly message: M }
  | { readonly kind: 'unknown'; readonly type: string }
  | { readonly kind: 'bad'; readonly reason: string };

/** How much of a reason reaches the log: a hostile peer must not fill it. */
const MAX_REASON_CHARS = 300;

type MessageUnion = z.ZodDiscriminatedUnion<z.ZodObject<{ type: z.ZodLiteral<string> }>[]>;

function reader<M>(schema: MessageUnion): (text: string) => ReadResult<M> {
  const known = new Set(schema.options.map((option) => option.shape.type.value));
  // Such a schema accepts any object of that type and drops the rest: its answer is a constant.
  const bare = new Map<string, ReadResult<M>>();
  for (const option of schema.options)
    if (Object.keys(option.shape).length === 1) {
      const type = option.shape.type.value;
      bare.set(type, Object.freeze({ kind: 'ok', message: Object.freeze({ type }) as M }));
    }
  const bareTexts = new Map([...bare].map(([type, read]) => [JSON.stringify({ type }), read]));
  return (text) => {
    const exact = bareTexts.get(text);
    if (exact) return exact;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (error) {
      return { kind: 'bad', reason: `not JSON: ${String(error)}`.slice(0, MAX_REASON_CHARS) };
    }
    const type = typeof value === 'object' && value !== null ? (value as { type?: unknown }).type : undefined;
    if (typeof type !== 'string') return { kind: 'bad', reason: 'no message type' };
    if (!known.has(type)) return { kind: 'unknown', type: type.slice(0, 64) };
    const constant = bare.get(type);
    if (constant) return constant;
    const parsed = schema.safeParse(value);
    if (parsed.success) return { kind: 'ok', message: parsed.data as M };
    const issues = parsed.error.issues
      .slice(0, 3)
      .map((issue) => `${issue.path.join('.') || '(message)'}: ${issue.message}`);
    const more = parsed.error.issues.length > 3 ? ` (and ${parsed.error.issues.length - 3} more)` : '';
    return { kind: 'bad', reason: `${type}: ${issues.join('; ')}${more}`.slice(0, MAX_REASON_CHARS) };
  };
}

/** What the server makes of an agent's message. */
export const readAgentMessage: (text: string) => ReadResult<AgentMessage> = reader(
  agentMessageSchema as unknown as MessageUnion,
);

/** What the agent makes of the server's message. */
export const readServerMessage: (text: string) => ReadResult<ServerMessage> = reader(
  serverMessageSchema as unknown as MessageUnion,
);
