/**
 * Which agents a server talks to, so a cluster is upgraded one host at a time: servers first, then
 * agents. A server accepts agents one protocol version behind it (not yet upgraded) and one ahead
 * (upgraded before it, or a server rolled back), and refuses the rest with a reason that says
 * what to upgrade. Pure: the announced and current versions are passed in.
 */

/** A hello without `protocol_version` is from before versions were announced: version 1. */
export const UNANNOUNCED_PROTOCOL_VERSION = 1;

/** How many versions either side of its own a server accepts. */
export const PROTOCOL_SKEW = 1;

export type ProtocolCheck =
  | { readonly ok: true; readonly version: number }
  | { readonly ok: false; readonly version: number; readonly tooOld: boolean; readonly reason: string };

export function acceptedProtocols(current: number): { readonly min: number; readonly max: number } {
  return {
    min: Math.max(UNANNOUNCED_PROTOCOL_VERSION, current - PROTOCOL_SKEW),
    max: current + PROTOCOL_SKEW,
  };
}

export function checkAgentProtocol(announced: number | undefined, current: number): ProtocolCheck {
  const version = announced ?? UNANNOUNCED_PROTOCOL_VERSION;
  const { min, max } = acceptedProtocols(current);
  if (version < min) {
    return {
      ok: false,
      version,
      tooOld: true,
      reason:
        `agent protocol ${version} is too old for this server (protocol ${current} accepts ${min}-${max}): ` +
        'upgrade the agent to this server’s release (or the one before it)',
    };
  }
  if (version > max) {
    return {
      ok: false,
      version,
      tooOld: false,
      reason:
        `agent protocol ${version} is too new for this server (protocol ${current} accepts ${min}-${max}): ` +
        'upgrade the servers first, then the agents',
    };
  }
  return { ok: true, version };
}

/** The WebSocket close reason (at most 123 bytes): the short form of the reason. */
export function closeReasonFor(check: ProtocolCheck & { ok: false }, current: number): string {
  return `agent protocol ${check.version} ${check.tooOld ? 'too old' : 'too new'} for server protocol ${current}`;
}
