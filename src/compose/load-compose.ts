/**
 * The I/O around the pure Compose core: reads the files given with `-c` (in order), the `.env`
 * beside the first (the project directory, as Compose has it), and every env_file the services
 * name, then parses, merges and translates. The process environment wins over `.env`.
 */
import { readFileSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import { ComposeError } from './compose-error.ts';
import { parseComposeFile } from './compose-file.ts';
import { type Environment, parseDotEnv } from './interpolate.ts';
import { mergeComposeFiles } from './merge.ts';
import { envFilesOf, type StackPlan, translateCompose } from './translate.ts';

export interface LoadOptions {
  readonly stack: string;
  readonly files: readonly string[];
  readonly env: Environment;
}

export interface LoadedStack extends StackPlan {
  /** The project directory: relative paths in the files (env_file, secret files) start here. */
  readonly directory: string;
  /** The files merged and interpolated, as Skiff read them (`skiff stack config`). */
  readonly merged: Record<string, unknown>;
}

export function loadComposeStack(options: LoadOptions): LoadedStack {
  const [first] = options.files;
  if (first === undefined) throw new ComposeError('(no file)', 1, undefined, 'give a Compose file with -c');
  const directory = dirname(resolve(first));
  const dotEnvText = readOptional(resolve(directory, '.env'));
  const env: Environment = { ...(dotEnvText === undefined ? {} : parseDotEnv(dotEnvText)), ...options.env };
  const parsed = options.files.map((file) => {
    const text = readOptional(resolve(file));
    if (text === undefined) throw new ComposeError(file, 1, undefined, 'cannot read this file');
    return parseComposeFile(file, text, env);
  });
  const merged = mergeComposeFiles(parsed);
  const envFiles = new Map<string, string>();
  for (const path of envFilesOf(merged)) {
    const text = readOptional(resolve(directory, path));
    if (text !== undefined) envFiles.set(path, text);
  }
  return {
    ...translateCompose(merged, { stack: options.stack, env, envFiles }),
    directory,
    merged: merged.value,
  };
}

function readOptional(path: string): string | undefined {
  try {
    return readFileSync(path, 'utf8');
  } catch {
    return undefined;
  }
}
