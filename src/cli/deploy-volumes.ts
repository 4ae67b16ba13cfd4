/**
 * The `skiff deploy` volume flags, spelled as Docker spells them: `-v SOURCE:TARGET[:ro]` (a name
 * is a named volume, an absolute path a bind mount; `-v TARGET` alone an anonymous volume) and
 * `--mount type=volume|bind|tmpfs,source=…,target=…[,readonly][,shared][,tmpfs-size=64m]` (as
 * `docker service create --mount`). Pure; the server validates the result and the admission policy
 * decides on host paths.
 */
import { UsageError } from './errors.ts';
import { parseMemoryMb } from './flag-values.ts';

export const volumeOptions = {
  volume: { type: 'string', short: 'v', multiple: true },
  mount: { type: 'string', multiple: true },
} as const;

export interface VolumeFlags {
  readonly volume?: readonly string[] | undefined;
  readonly mount?: readonly string[] | undefined;
}

type Mount = { [key: string]: unknown };

/** The spec's `volumes` from the flags, or undefined when neither is given (the file's stand). */
export function volumeFields(flags: VolumeFlags): Mount[] | undefined {
  if (flags.volume === undefined && flags.mount === undefined) return undefined;
  return [...(flags.volume ?? []).map(shortVolume), ...(flags.mount ?? []).map(longMount)];
}

function shortVolume(text: string): Mount {
  const parts = text.split(':');
  if (parts.length === 1) return { type: 'volume', target: text };
  const [source = '', target = '', mode, ...rest] = parts;
  if (
    rest.length > 0 ||
    (mode !== undefined && mode !== 'ro' && mode !== 'rw') ||
    source === '' ||
    target === ''
  )
    throw new UsageError(`--volume ${text}: expected SOURCE:TARGET[:ro] or TARGET`);
  return {
    type: source.startsWith('/') ? 'bind' : 'volume',
    source,
    target,
    ...(mode === 'ro' ? { read_only: true } : {}),
  };
}

function longMount(text: string): Mount {
  const mount: Mount = { type: 'volume' };
  for (const part of text.split(',')) {
    const at = part.indexOf('=');
    const key = at < 0 ? part : part.slice(0, at);
    const value = at < 0 ? undefined : part.slice(at + 1);
    const flag = value === undefined || value === 'true' || value === '1';
    switch (key) {
      case 'type':
        mount.type = value;
        break;
      case 'source':
      case 'src':
        mount.source = value;
        break;
      case 'target':
      case 'dst':
      case 'destination':
        mount.target = value;
        break;
      case 'readonly':
      case 'ro':
        if (flag) mount.read_only = true;
        break;
      case 'shared':
        if (flag) mount.shared = true;
        break;
      case 'tmpfs-size':
        mount.size_mb = parseMemoryMb('--mount tmpfs-size', value ?? '');
        break;
      case 'tmpfs-mode':
        mount.mode = value;
        break;
      default:
        throw new UsageError(
          `--mount ${text}: unknown option ${key} (type, source, target, readonly, shared, tmpfs-size, tmpfs-mode)`,
        );
    }
  }
  if (mount.target === undefined) throw new UsageError(`--mount ${text}: target= is required`);
  return mount;
}
