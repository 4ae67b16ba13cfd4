/**
 * Which saved context a client command uses, and what it contributes. Pure. The context is named
 * by `--context NAME`, else `SKIFF_CONTEXT`, else the config's current one (`skiff context use`);
 * a name given by flag or variable that is not saved is a usage error, never a silent fallback.
 * `SKIFF_CONTEXT=default` (or `--context default`) means no context, as Docker's does. What the
 * context holds is used only where no flag and no SKIFF_* variable says otherwise
 * (connection.ts applies that order).
 */
import type { ContextConfig, SavedContext } from './context-config.ts';
import { UsageError } from './errors.ts';

/** The name that means "no saved context": flags, variables and the local data dir only. */
export const NO_CONTEXT = 'default';

export interface ChosenContext {
  readonly name: string;
  readonly context: SavedContext;
}

export function chooseContext(
  flag: string | undefined,
  env: Readonly<Record<string, string | undefined>>,
  config: ContextConfig,
): ChosenContext | undefined {
  const fromFlag = nonEmpty(flag);
  const fromEnv = nonEmpty(env.SKIFF_CONTEXT);
  const named = fromFlag ?? fromEnv;
  const name = named ?? config.current;
  if (name === undefined || name === NO_CONTEXT) return undefined;
  const context = config.contexts[name];
  if (context === undefined) {
    const source =
      fromFlag !== undefined ? '--context' : fromEnv !== undefined ? 'SKIFF_CONTEXT' : 'the current context';
    const known = Object.keys(config.contexts).sort();
    throw new UsageError(
      `${source}: no context named ${name} (${known.length > 0 ? `saved: ${known.join(', ')}` : 'none saved'}; skiff context add NAME --server URL)`,
    );
  }
  return { name, context };
}

/** `URL[,URL…]` as given to `--server`, `SKIFF_SERVER` or `context add --server`. */
export function splitServerList(text: string): string[] {
  return text
    .split(',')
    .map((url) => url.trim().replace(/\/+$/, ''))
    .filter((url) => url !== '');
}

function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value.trim() === '' ? undefined : value.trim();
}
