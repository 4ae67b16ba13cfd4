/**
 * Compose variable interpolation in one string, as the Compose Specification defines it:
 * `$VAR`, `${VAR}`, `${VAR:-default}` (unset or empty), `${VAR-default}` (unset), `${VAR:?message}`
 * and `${VAR?message}` (an error), `${VAR:+replacement}` and `${VAR+replacement}`, and `$$` for a
 * literal `$`. Defaults may themselves hold variables. Pure: the environment is passed in.
 */

export type Environment = Readonly<Record<string, string | undefined>>;

export type Interpolated = { ok: true; value: string } | { ok: false; reason: string };

const NAME = /^[A-Za-z_][A-Za-z0-9_]*/;

export function interpolate(text: string, env: Environment): Interpolated {
  let out = '';
  let i = 0;
  while (i < text.length) {
    const dollar = text.indexOf('$', i);
    if (dollar === -1) {
      out += text.slice(i);
      break;
    }
    out += text.slice(i, dollar);
    const next = text[dollar + 1];
    if (next === '$') {
      out += '$';
      i = dollar + 2;
      continue;
    }
    if (next === '{') {
      const close = matchingBrace(text, dollar + 2);
      if (close === -1) return { ok: false, reason: `unclosed "\${" in "${text}"` };
      const expanded = expandBraced(text.slice(dollar + 2, close), env);
      if (!expanded.ok) return expanded;
      out += expanded.value;
      i = close + 1;
      continue;
    }
    const name = NAME.exec(text.slice(dollar + 1))?.[0];
    if (name === undefined) {
      // A lone `$` (end of text, `$ `, `$1`): Compose refuses it, so a typo is never silent.
      return { ok: false, reason: `invalid "$" in "${text}" (write "$$" for a literal dollar sign)` };
    }
    out += env[name] ?? '';
    i = dollar + 1 + name.length;
  }
  return { ok: true, value: out };
}

/** The index of the `}` closing a `${` whose body starts at `start`, counting nested `${…}`. */
function matchingBrace(text: string, start: number): number {
  let depth = 1;
  for (let i = start; i < text.length; i++) {
    if (text[i] === '$' && text[i + 1] === '{') {
      depth++;
      i++;
    } else if (text[i] === '}') {
      depth--;
      if (depth === 0) return i;
    }
  }
  return -1;
}

function expandBraced(body: string, env: Environment): Interpolated {
  const name = NAME.exec(body)?.[0];
  if (name === undefined) return { ok: false, reason: `invalid variable name in "\${${body}}"` };
  const rest = body.slice(name.length);
  const value = env[name];
  if (rest === '') return { ok: true, value: value ?? '' };
  const operator = /^(:-|-|:\?|\?|:\+|\+)/.exec(rest)?.[0];
  if (operator === undefined) return { ok: false, reason: `invalid "\${${body}}"` };
  const word = rest.slice(operator.length);
  const colon = operator.startsWith(':');
  const missing = colon ? value === undefined || value === '' : value === undefined;
  switch (operator) {
    case ':-':
    case '-':
      return missing ? interpolate(word, env) : { ok: true, value: value ?? '' };
    case ':?':
    case '?': {
      if (!missing) return { ok: true, value: value ?? '' };
      const message = interpolate(word, env);
      return {
        ok: false,
        reason: `required variable ${name} is ${value === undefined ? 'not set' : 'empty'}${message.ok && message.value ? `: ${message.value}` : ''}`,
      };
    }
    default:
      return missing ? { ok: true, value: '' } : interpolate(word, env);
  }
}

/** Lines of a `.env` file: `KEY=VALUE`, `export KEY=VALUE`, comments and blank lines; quotes stripped. */
export function parseDotEnv(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const raw of text.split(/\r?\n/)) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const match = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_.-]*)\s*=\s*(.*)$/.exec(line);
    if (!match?.[1]) continue;
    let value = match[2] ?? '';
    const quote = value[0];
    if ((quote === '"' || quote === "'") && value.endsWith(quote) && value.length >= 2) {
      value = value.slice(1, -1);
      if (quote === '"') value = value.replaceAll('\\n', '\n').replaceAll('\\"', '"');
    } else {
      // An unquoted value ends at a comment that follows whitespace.
      value = value.replace(/\s+#.*$/, '');
    }
    out[match[1]] = value;
  }
  return out;
}
