/**
 * How the replica's process runs, beyond image and command: the entry point, working directory,
 * extra /etc/hosts lines, resource ulimits, tmpfs mounts, and the other names the service answers
 * to on its networks. The fields Compose files use most after image and ports (a stack's services
 * find each other by their short Compose names through `aliases`). A block spread into the spec,
 * all optional without defaults, so specs stored before these existed keep their revision.
 */
import { z } from 'zod';
import { SERVICE_NAME_PATTERN } from './names.ts';

const ABSOLUTE_PATH = /^\/[^\0]*$/;
/** `HOST:IP` as `docker run --add-host` (IPv4, or IPv6 with colons after the first). */
const EXTRA_HOST = /^[A-Za-z0-9]([A-Za-z0-9.-]{0,252})?:[0-9A-Fa-f.:]{2,45}$/;
/** The ulimits Docker knows (setrlimit's resources, lower case and without RLIMIT_). */
export const ULIMIT_NAMES = [
  'core',
  'cpu',
  'data',
  'fsize',
  'locks',
  'memlock',
  'msgqueue',
  'nice',
  'nofile',
  'nproc',
  'rss',
  'rtprio',
  'rttime',
  'sigpending',
  'stack',
] as const;

const ulimitSchema = z
  .strictObject({
    soft: z.int().min(-1).max(Number.MAX_SAFE_INTEGER),
    hard: z.int().min(-1).max(Number.MAX_SAFE_INTEGER),
  })
  .refine((limit) => limit.hard === -1 || (limit.soft !== -1 && limit.soft <= limit.hard), {
    message: 'soft must not exceed hard (-1 means unlimited)',
    path: ['soft'],
  });

const tmpfsSchema = z.strictObject({
  target: z.string().max(4096).regex(ABSOLUTE_PATH, 'must be an absolute path in the container'),
  /** Without it the kernel's default applies (half the host's memory, charged to the container). */
  size_mb: z.int().min(1).max(1_048_576).optional(),
  /** Octal permission bits as a string, like `1777`. */
  mode: z
    .string()
    .regex(/^[0-7]{3,4}$/, 'must be octal permission bits like 1777')
    .optional(),
});

export const containerRuntimeShape = {
  /** Replaces the image's ENTRYPOINT; `[]` clears it (so `command` runs on its own). */
  entrypoint: z
    .array(z.string().max(64 * 1024))
    .max(1024)
    .optional(),
  working_dir: z
    .string()
    .max(4096)
    .regex(ABSOLUTE_PATH, 'must be an absolute path in the container')
    .optional(),
  extra_hosts: z
    .array(z.string().regex(EXTRA_HOST, 'must be HOST:IP, like db.internal:10.0.0.5'))
    .max(256)
    .optional(),
  ulimits: z.partialRecord(z.enum(ULIMIT_NAMES), ulimitSchema).optional(),
  tmpfs: z
    .array(tmpfsSchema)
    .max(32)
    .refine(
      (mounts) => new Set(mounts.map((m) => m.target)).size === mounts.length,
      'must not name a target twice',
    )
    .optional(),
  /**
   * More names the service answers to, on each of its networks, beside its own: a stack's
   * `web` for `shop-web`. A name another service on a shared network uses is refused at deploy.
   */
  aliases: z
    .array(
      z.string().regex(SERVICE_NAME_PATTERN, 'aliases are DNS labels: lowercase letters, digits and dashes'),
    )
    .max(16)
    .refine((names) => new Set(names).size === names.length, 'must not name an alias twice')
    .optional(),
};

export type TmpfsMount = z.output<typeof tmpfsSchema>;

/** The runtime block as Docker create fields: top-level ones and HostConfig ones, only those set. */
export function runtimeCreateFields(spec: {
  entrypoint?: readonly string[] | undefined;
  working_dir?: string | undefined;
  extra_hosts?: readonly string[] | undefined;
  ulimits?: Partial<Record<(typeof ULIMIT_NAMES)[number], { soft: number; hard: number }>> | undefined;
  tmpfs?: readonly TmpfsMount[] | undefined;
}): { body: Record<string, unknown>; hostConfig: Record<string, unknown> } {
  const body: Record<string, unknown> = {};
  const hostConfig: Record<string, unknown> = {};
  if (spec.entrypoint !== undefined) body.Entrypoint = [...spec.entrypoint];
  if (spec.working_dir !== undefined) body.WorkingDir = spec.working_dir;
  if (spec.extra_hosts !== undefined) hostConfig.ExtraHosts = [...spec.extra_hosts];
  if (spec.ulimits !== undefined)
    hostConfig.Ulimits = Object.entries(spec.ulimits).map(([name, limit]) => ({
      Name: name,
      Soft: limit?.soft,
      Hard: limit?.hard,
    }));
  if (spec.tmpfs !== undefined)
    hostConfig.Tmpfs = Object.fromEntries(
      spec.tmpfs.map((mount) => {
        const options = [
          ...(mount.size_mb === undefined ? [] : [`size=${mount.size_mb}m`]),
          ...(mount.mode === undefined ? [] : [`mode=${mount.mode}`]),
        ];
        return [mount.target, options.join(',')];
      }),
    );
  return { body, hostConfig };
}
