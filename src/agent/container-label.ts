/**
 * How the agent's events name a container: the slot users know and the short id of the container
 * the line is about, so the lines of one replacement tell which container did what
 * (`Container web-0 (3f2a1b9c0d1e) exited with code 137`).
 */
export function containerLabel(slot: string, containerId: string): string {
  return `Container ${slot} (${containerId.slice(0, 12)})`;
}
