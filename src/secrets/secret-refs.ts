/**
 * Between specs and the secret store: resolving a deployed spec's references (each must exist; the
 * version is the store's), finding the services a secret's change rolls, and the files a task
 * needs (`SecretFile`, value included) for the agent.
 */
import type { SecretKind, SecretRef } from '../model/secret-ref.ts';
import { secretMode, secretTarget } from '../model/secret-ref.ts';
import type { ServiceSpec } from '../model/service-spec.ts';
import type { SecretFile } from '../protocol/messages.ts';
import type { SecretStore } from './secret-store.ts';

export const KINDS: readonly SecretKind[] = ['secret', 'config'];

export function refsOf(spec: ServiceSpec, kind: SecretKind): readonly SecretRef[] {
  return (kind === 'secret' ? spec.secrets : spec.configs) ?? [];
}

/** Missing references, as `secrets.0.name: no secret db-password` problems. */
export function missingRefs(
  store: SecretStore,
  spec: ServiceSpec,
  /** Names that will exist by the time the spec is stored (a stack creates its own first). */
  pending: (kind: SecretKind, name: string) => boolean = () => false,
): string[] {
  const problems: string[] = [];
  for (const kind of KINDS) {
    refsOf(spec, kind).forEach((ref, index) => {
      if (!store.get(kind, ref.name) && !pending(kind, ref.name))
        problems.push(
          `${kind}s.${index}.name: no ${kind} ${ref.name} (create it with: skiff ${kind} create ${ref.name} -f FILE)`,
        );
    });
    const targets = refsOf(spec, kind).map((ref) => secretTarget(kind, ref));
    const dup = targets.find((t, i) => targets.indexOf(t) !== i);
    if (dup) problems.push(`${kind}s: two files at ${dup}`);
  }
  return problems;
}

/** The spec with every reference's version set to the store's (what makes a change roll it). */
export function withVersions(store: SecretStore, spec: ServiceSpec): ServiceSpec {
  const stamp = (kind: SecretKind) =>
    refsOf(spec, kind).map((ref) => ({ ...ref, version: store.get(kind, ref.name)?.version ?? 0 }));
  return {
    ...spec,
    ...(spec.secrets ? { secrets: stamp('secret') } : {}),
    ...(spec.configs ? { configs: stamp('config') } : {}),
  };
}

export function usesRef(spec: ServiceSpec, kind: SecretKind, name: string): boolean {
  return refsOf(spec, kind).some((ref) => ref.name === name);
}

/** The files a task's container needs, values included; a value gone from the store is left out. */
export function secretFiles(store: SecretStore, spec: ServiceSpec): SecretFile[] {
  const files: SecretFile[] = [];
  for (const kind of KINDS) {
    for (const ref of refsOf(spec, kind)) {
      const value = store.value(kind, ref.name);
      if (value === undefined) continue;
      files.push({
        kind,
        name: ref.name,
        target: secretTarget(kind, ref),
        mode: secretMode(kind, ref),
        data: value.toString('base64'),
      });
    }
  }
  return files;
}
