/**
 * How `events` prints one event: `[2024-01-15 10:23:45] Container api-server-2 failed health check`,
 * the timestamp in the viewer's local time.
 */
import type { SkiffEvent } from '../model/event.ts';
import { formatLocalTime } from './human-units.ts';

export function formatEventLine(event: Pick<SkiffEvent, 'timestamp' | 'message'>): string {
  return `[${formatLocalTime(event.timestamp)}] ${event.message}`;
}
