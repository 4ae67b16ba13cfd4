/**
 * The API's shapes, as types only: the dashboard shares the server's schemas (src/model) and
 * nothing else, and `import type` keeps zod out of the bundle.
 */
export type { Role } from '../../../src/auth/roles.ts';
export type { TokenView } from '../../../src/model/access-views.ts';
export type { SkiffEvent } from '../../../src/model/event.ts';
export type { RevisionView, Rollout } from '../../../src/model/rollout.ts';
export type {
  ContainerView,
  LogLine,
  NodeView,
  ServiceStatus,
  ServiceView,
} from '../../../src/model/views.ts';

/** A secret or config as listed (never a value). */
export interface SecretView {
  readonly name: string;
  readonly version: number;
  readonly size_bytes: number;
  readonly digest: string | null;
  readonly created_at: string;
  readonly updated_at: string;
}

export interface PolicyView {
  readonly mode: string;
  readonly exceptions: Readonly<Record<string, readonly string[]>>;
}
