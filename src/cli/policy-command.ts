/**
 * `skiff policy show|set baseline|privileged|allow SERVICE EXCEPTION|deny SERVICE EXCEPTION`: the
 * cluster's admission policy. Every form prints the policy as it is afterwards.
 */
import type { AdmissionPolicy } from '../policy/admission-policy.ts';
import { admissionPolicySchema } from '../policy/admission-policy.ts';
import { clientFromFlags, parseCommandArgs } from './command-args.ts';
import { COMMAND_OPTIONS } from './command-options.ts';
import { UsageError } from './errors.ts';
import { printText } from './output.ts';
import { outputFormatFrom, printView } from './output-format.ts';
import { commandUsage } from './usage.ts';

export async function runPolicy(argv: string[]): Promise<void> {
  const { values, positionals } = parseCommandArgs({
    args: argv,
    allowPositionals: true,
    options: COMMAND_OPTIONS.policy,
  });
  if (values.help) return printText(commandUsage('policy'));
  const [action, ...rest] = positionals;
  outputFormatFrom(values);
  const client = clientFromFlags(values);
  const expect = (count: number, what: string) => {
    if (rest.length !== count)
      throw new UsageError(`policy ${action}: expected ${what}, got ${rest.join(' ') || 'nothing'}`);
  };
  let policy: AdmissionPolicy;
  if (action === 'show') {
    expect(0, 'nothing more');
    policy = await client.get('/api/policy', admissionPolicySchema);
  } else if (action === 'set') {
    expect(1, 'baseline or privileged');
    const mode = rest[0];
    if (mode !== 'baseline' && mode !== 'privileged')
      throw new UsageError(`policy set: expected baseline or privileged, got ${mode}`);
    // The mode changes; the exceptions granted stay.
    const current = await client.get('/api/policy', admissionPolicySchema);
    policy = await client.put('/api/policy', { ...current, mode }, admissionPolicySchema);
  } else if (action === 'allow' || action === 'deny') {
    expect(2, 'SERVICE EXCEPTION');
    const [service, exception] = rest;
    policy = await client.post(`/api/policy/${action}`, { service, exception }, admissionPolicySchema);
  } else {
    throw new UsageError(`policy: expected show, set, allow or deny, got ${action ?? 'nothing'}`);
  }
  const shown = policy;
  await printView(values, { data: shown, table: () => policyLines(shown) });
}

export function policyLines(policy: AdmissionPolicy): string[] {
  const services = Object.entries(policy.exceptions).sort(([a], [b]) => (a < b ? -1 : 1));
  return [
    `mode: ${policy.mode}${policy.mode === 'privileged' ? ' (every spec is admitted)' : ''}`,
    ...(services.length === 0
      ? ['exceptions: none']
      : ['exceptions:', ...services.map(([service, list]) => `  ${service}: ${list.join(', ')}`)]),
  ];
}
