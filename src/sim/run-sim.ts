/**
 * `npm run sim`: runs the cluster simulator's scenarios over many seeds (a soak), or one seed to
 * replay a failure. Prints one line per run and every violation with the command that replays
 * it; exits 1 if any run failed.
 *
 *   npm run sim -- --seeds 200                         # every scenario, seeds 1..200, 20 nodes
 *   npm run sim -- --scenario partition --seed 17 --nodes 100
 */
import { parseArgs } from 'node:util';
import { replayCommand, runScenario, SCENARIOS } from './scenarios.ts';

const { values } = parseArgs({
  options: {
    scenario: { type: 'string', default: 'all' },
    seed: { type: 'string' },
    seeds: { type: 'string', default: '3' },
    nodes: { type: 'string', default: '20' },
  },
});

function integer(name: string, text: string, min: number): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < min) {
    process.stderr.write(`--${name}: expected an integer ≥ ${min}, got ${text}\n`);
    process.exit(2);
  }
  return n;
}

const scenarios = values.scenario === 'all' ? Object.keys(SCENARIOS) : [values.scenario];
for (const name of scenarios) {
  if (!SCENARIOS[name]) {
    process.stderr.write(`--scenario: unknown ${name} (known: all, ${Object.keys(SCENARIOS).join(', ')})\n`);
    process.exit(2);
  }
}
const nodes = integer('nodes', values.nodes, 10);
const seeds =
  values.seed === undefined
    ? Array.from({ length: integer('seeds', values.seeds, 1) }, (_, i) => i + 1)
    : [integer('seed', values.seed, 0)];

let failed = 0;
for (const seed of seeds) {
  for (const scenario of scenarios) {
    try {
      const r = await runScenario(scenario, { seed, nodes });
      process.stdout.write(
        `ok    ${scenario.padEnd(15)} seed ${String(seed).padStart(4)}  ${r.nodes} nodes, ${r.replicas} replicas: ` +
          `${r.passes} passes, ${(r.virtualMs / 1000).toFixed(1)} s simulated in ${(r.realMs / 1000).toFixed(1)} s\n`,
      );
    } catch (error) {
      failed++;
      process.stdout.write(`FAIL  ${scenario.padEnd(15)} seed ${String(seed).padStart(4)}\n`);
      process.stdout.write(`  ${error instanceof Error ? error.message : String(error)}\n`);
      if (!(error instanceof Error && error.message.includes('replay:')))
        process.stdout.write(`  replay: ${replayCommand(scenario, { seed, nodes })}\n`);
    }
  }
}
process.stdout.write(`${seeds.length * scenarios.length - failed} passed, ${failed} failed\n`);
if (failed > 0) process.exitCode = 1;
