/**
 * Events written by API routes name the token that made the change: the route's event log adds
 * `(by token NAME)` to each message while a request's caller is known. Only the routes get this
 * log; the controller's own events (placement, starts) keep theirs as they are.
 */
import { currentPrincipal } from '../auth/authenticate.ts';
import type { EventInput, SkiffEvent } from '../model/event.ts';

export interface EventSink {
  append(input: EventInput, at: number): void;
  subscribe(listener: (event: SkiffEvent) => void): () => void;
}

export function attributedEvents(events: EventSink): EventSink {
  return {
    append(input, at) {
      const principal = currentPrincipal();
      return events.append(
        principal ? { ...input, message: `${input.message} (by token ${principal.name})` } : input,
        at,
      );
    },
    subscribe: (listener) => events.subscribe(listener),
  };
}
