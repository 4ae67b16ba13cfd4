/**
 * The spec's `volumes`: what a replica mounts. `volume` is a Docker volume on the replica's node
 * (named, so it outlives containers and pins the replica to that node; or anonymous, without a
 * `source`, living and dying with each container), `bind` a host path (refused by the admission
 * policy unless allowed), `tmpfs` memory. A named volume's `source` may carry Swarm's templates,
 * `data-{{.Task.Slot}}`, so each replica gets a volume of its own. Volumes are local to a node:
 * there are no network drivers, and nothing copies data between nodes.
 *
 * A block spread into the spec, optional without a default, so specs stored before it existed
 * keep their revision.
 */
import { z } from 'zod';

const ABSOLUTE_PATH = /^\/[^\0]*$/;
/** Docker's own rule for volume names, applied after the templates are filled in. */
const VOLUME_NAME = /^[a-zA-Z0-9][a-zA-Z0-9_.-]*$/;
/** The templates a source may use (Swarm's spelling). */
export const VOLUME_TEMPLATES = ['{{.Task.Slot}}', '{{.Service.Name}}'] as const;
const TEMPLATE = /\{\{\s*([^}]*?)\s*\}\}/g;

/** A volume source with its templates filled in for one replica. */
export function resolveVolumeSource(source: string, replica: { service: string; slot: number }): string {
  return source.replace(TEMPLATE, (_, name: string) =>
    name === '.Task.Slot' ? String(replica.slot) : name === '.Service.Name' ? replica.service : `{{${name}}}`,
  );
}

/** True when every replica resolves the source to a name of its own. */
export function isPerSlot(source: string): boolean {
  return /\{\{\s*\.Task\.Slot\s*\}\}/.test(source);
}

const volumeSourceSchema = z
  .string()
  .min(1)
  .max(200)
  .superRefine((source, ctx) => {
    for (const match of source.matchAll(TEMPLATE)) {
      const template = `{{${match[1]}}}`;
      if (!(VOLUME_TEMPLATES as readonly string[]).includes(template))
        ctx.addIssue({
          code: 'custom',
          message: `unknown template ${match[0]}: a source may use ${VOLUME_TEMPLATES.join(' and ')}`,
        });
    }
    // Filled in with the longest values a template can take, the name must still be Docker's.
    const sample = resolveVolumeSource(source, { service: 'a'.repeat(63), slot: 999 });
    if (!VOLUME_NAME.test(sample.replace(/\{\{[^}]*\}\}/g, 'x')))
      ctx.addIssue({
        code: 'custom',
        message: 'a volume name is letters, digits, _ . - (starting with a letter or digit)',
      });
  });

export const volumeMountSchema = z
  .strictObject({
    type: z.enum(['volume', 'bind', 'tmpfs']).default('volume'),
    /**
     * `volume`: the volume's name (templates allowed); absent, an anonymous volume of each
     * container. `bind`: the absolute host path. `tmpfs`: none.
     */
    source: z.string().max(4096).optional(),
    target: z.string().max(4096).regex(ABSOLUTE_PATH, 'must be an absolute path in the container'),
    read_only: z.boolean().optional(),
    /**
     * A named volume is single-writer by default: two replicas never have it mounted at once, so
     * its replica is replaced and updated stop-first. `shared: true` lets replicas (and a
     * successor beside its predecessor) mount it together.
     */
    shared: z.boolean().optional(),
    /** tmpfs only: its size limit in MiB (the kernel's default, half the host's memory, without it). */
    size_mb: z.int().min(1).max(1_048_576).optional(),
    /** tmpfs only: octal permission bits as a string, like `1777`. */
    mode: z
      .string()
      .regex(/^[0-7]{3,4}$/, 'must be octal permission bits like 1777')
      .optional(),
  })
  .superRefine((mount, ctx) => {
    const issue = (path: string, message: string) => ctx.addIssue({ code: 'custom', path: [path], message });
    if (mount.type === 'volume' && mount.source !== undefined) {
      const parsed = volumeSourceSchema.safeParse(mount.source);
      if (!parsed.success) for (const i of parsed.error.issues) issue('source', i.message);
    }
    if (mount.type === 'bind') {
      if (mount.source === undefined) issue('source', 'a bind mount needs the host path as its source');
      else if (!ABSOLUTE_PATH.test(mount.source)) issue('source', 'must be an absolute path on the host');
    }
    if (mount.type === 'tmpfs' && mount.source !== undefined) issue('source', 'a tmpfs has no source');
    if (mount.type !== 'tmpfs') {
      if (mount.size_mb !== undefined) issue('size_mb', 'only a tmpfs has a size');
      if (mount.mode !== undefined) issue('mode', 'only a tmpfs has a mode');
    }
    if (mount.shared !== undefined && (mount.type !== 'volume' || mount.source === undefined))
      issue('shared', 'only a named volume can be shared (or not)');
  });

export type VolumeMount = z.output<typeof volumeMountSchema>;

export const volumesShape = {
  volumes: z
    .array(volumeMountSchema)
    .max(32)
    .refine(
      (mounts) => new Set(mounts.map((m) => m.target)).size === mounts.length,
      'must not name a target twice',
    )
    .optional(),
};

/** A named volume as one replica mounts it. */
export interface ReplicaVolume {
  readonly name: string;
  readonly target: string;
  /** False for a single-writer volume (the default). */
  readonly shared: boolean;
}

/** The named volumes one replica of the spec mounts, their templates filled in. */
export function replicaVolumes(
  spec: { readonly name: string; readonly volumes?: readonly VolumeMount[] | undefined },
  slot: number,
): ReplicaVolume[] {
  const out: ReplicaVolume[] = [];
  for (const mount of spec.volumes ?? []) {
    if (mount.type !== 'volume' || mount.source === undefined) continue;
    out.push({
      name: resolveVolumeSource(mount.source, { service: spec.name, slot }),
      target: mount.target,
      shared: mount.shared === true,
    });
  }
  return out;
}

/** True when the spec mounts a named volume that only one replica may have at a time. */
export function hasSingleWriterVolume(spec: {
  readonly volumes?: readonly VolumeMount[] | undefined;
}): boolean {
  return (spec.volumes ?? []).some((m) => m.type === 'volume' && m.source !== undefined && m.shared !== true);
}

/**
 * Why the spec's volumes do not fit its replica count, or null: a single-writer volume whose name
 * is the same for every replica cannot be written by more than one. Checked at deploy and scale.
 */
export function volumeReplicaProblem(
  spec: { readonly volumes?: readonly VolumeMount[] | undefined; readonly mode?: string | undefined },
  replicas: number,
): { index: number; message: string } | null {
  if (spec.mode === 'global' || replicas <= 1) return null;
  const index = (spec.volumes ?? []).findIndex(
    (m) => m.type === 'volume' && m.source !== undefined && m.shared !== true && !isPerSlot(m.source),
  );
  if (index < 0) return null;
  const source = spec.volumes?.[index]?.source ?? '';
  return {
    index,
    message: `${replicas} replicas cannot all write the single-writer volume ${source}: give each its own (source: "${source}-{{.Task.Slot}}") or set shared: true`,
  };
}

/** The `volumes` block and the `tmpfs` shorthand must not mount two things at one target. */
export function overlappingTmpfsTarget(spec: {
  readonly volumes?: readonly VolumeMount[] | undefined;
  readonly tmpfs?: readonly { readonly target: string }[] | undefined;
}): { index: number; target: string } | null {
  const tmpfs = new Set((spec.tmpfs ?? []).map((m) => m.target));
  const index = (spec.volumes ?? []).findIndex((m) => tmpfs.has(m.target));
  return index < 0 ? null : { index, target: spec.volumes?.[index]?.target ?? '' };
}

/** The Docker HostConfig.Mounts for one replica: named and anonymous volumes, binds, tmpfs. */
export function volumeMounts(
  spec: { readonly name: string; readonly volumes?: readonly VolumeMount[] | undefined },
  slot: number,
): Record<string, unknown>[] {
  return (spec.volumes ?? []).map((mount) => {
    const readOnly = mount.read_only === true ? { ReadOnly: true } : {};
    if (mount.type === 'tmpfs') {
      const options = {
        ...(mount.size_mb === undefined ? {} : { SizeBytes: mount.size_mb * 1024 * 1024 }),
        ...(mount.mode === undefined ? {} : { Mode: Number.parseInt(mount.mode, 8) }),
      };
      return {
        Type: 'tmpfs',
        Target: mount.target,
        ...readOnly,
        ...(Object.keys(options).length > 0 ? { TmpfsOptions: options } : {}),
      };
    }
    if (mount.type === 'bind')
      return { Type: 'bind', Source: mount.source, Target: mount.target, ...readOnly };
    // No Source: Docker makes an anonymous volume, removed with the container (remove ?v=true).
    const source =
      mount.source === undefined
        ? {}
        : { Source: resolveVolumeSource(mount.source, { service: spec.name, slot }) };
    return { Type: 'volume', ...source, Target: mount.target, ...readOnly };
  });
}
