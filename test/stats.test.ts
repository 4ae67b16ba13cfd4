/**
 * Resource usage on the real engine, through `skiff up` with 1 s stats: a replica in a busy loop
 * shows about a core in `skiff stats` and the API; one that fills a tmpfs shows that memory
 * against its limit; the node's own CPU, memory and disk appear; `--json` is the API's shape.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { clusterStatsSchema, serviceStatsSchema } from '../src/stats/stats-schema.ts';
import { eventually } from './support/eventually.ts';
import { SkiffCluster } from './support/skiff-cluster.ts';

const MiB = 1024 * 1024;
const MAIN = join(import.meta.dirname, '../src/cli/main.ts');
let skiff: SkiffCluster;

async function deploy(body: Record<string, unknown>): Promise<void> {
  const response = await skiff.api('POST', '/api/deploy', { image: 'skiff-demo:v1', ...body });
  assert.ok(response.status === 201 || response.status === 200, JSON.stringify(response.body));
}

async function serviceStats(name: string) {
  const response = await skiff.api('GET', `/api/services/${name}/stats`);
  assert.equal(response.status, 200, JSON.stringify(response.body));
  return serviceStatsSchema.parse(response.body);
}

describe('resource usage', { timeout: 180_000 }, () => {
  before(async () => {
    skiff = await SkiffCluster.start('up', { serverArgs: ['--stats-interval', '1s'] });
  });
  after(async () => {
    await skiff?.stop();
  });

  test('a replica in a busy loop shows about one core busy', async () => {
    await deploy({ name: 'burn', replicas: 1, command: ['sh', '-c', 'while :; do :; done'] });
    // One core is 100%; the machine is shared, so well above half a core is the loop's.
    const busy = await eventually(
      'burn-0 to show a busy core',
      async () => {
        const [replica] = (await serviceStats('burn')).replicas;
        return replica?.cpu_percent !== null && (replica?.cpu_percent ?? 0) > 50 ? replica : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(busy?.replica, 'burn-0');
    assert.ok((busy?.cpu_seconds ?? 0) > 0.5, `cumulative CPU seconds grow: ${busy?.cpu_seconds}`);

    const table = await skiff.cli(['stats', 'burn', '--no-stream']);
    assert.equal(table.code, 0, table.stderr);
    const row = table.stdout.split('\n').find((line) => line.startsWith('burn-0'));
    const cpu = Number(/\s(\d+(?:\.\d+)?)%/.exec(row ?? '')?.[1]);
    assert.ok(cpu > 30, `skiff stats shows the busy replica: ${table.stdout}`);
    await skiff.api('DELETE', '/api/services/burn');
  });

  test('a replica that fills a tmpfs shows the memory against its limit', async () => {
    await deploy({
      name: 'hog',
      replicas: 1,
      resources: { memory_mb: 128 },
      command: ['sh', '-c', 'dd if=/dev/zero of=/dev/shm/fill bs=1M count=48 && exec sleep 3600'],
    });
    const hog = await eventually(
      'hog-0 to show its 48 MiB',
      async () => {
        const [replica] = (await serviceStats('hog')).replicas;
        return (replica?.memory_working_set_bytes ?? 0) > 40 * MiB ? replica : undefined;
      },
      { timeoutMs: 60_000 },
    );
    assert.equal(hog?.memory_limit_bytes, 128 * MiB);
    assert.ok((hog?.memory_percent ?? 0) > 30, `memory % of the limit: ${hog?.memory_percent}`);
    assert.ok((hog?.memory_working_set_bytes ?? 0) < 128 * MiB);
  });

  test("the node's CPU, memory and the engine's disk appear, in the API and in skiff stats --json", async () => {
    const result = await eventually(
      'node stats with a CPU %',
      async () => {
        const stats = clusterStatsSchema.parse((await skiff.api('GET', '/api/stats')).body);
        const [node] = stats.nodes;
        return node?.cpu_percent !== null && node !== undefined ? node : undefined;
      },
      { timeoutMs: 30_000 },
    );
    assert.ok(result.memory_total_bytes > 0 && result.memory_used_bytes > 0);
    assert.ok(result.memory_used_bytes <= result.memory_total_bytes);
    assert.ok(result.disk_total_bytes > 0 && result.disk_used_bytes > 0, JSON.stringify(result));
    assert.ok(result.cpu_count >= 1);

    const json = await skiff.cli(['stats', '--no-stream', '-o', 'json']);
    assert.equal(json.code, 0, json.stderr);
    const parsed = clusterStatsSchema.parse(JSON.parse(json.stdout));
    assert.deepEqual(
      parsed.nodes.map((n) => n.node),
      [result.node],
    );
    assert.ok(parsed.replicas.some((r) => r.service === 'hog'));
  });

  test('skiff stats streams a table per update (lines when not a terminal) until Ctrl-C', async () => {
    const child = spawn(process.execPath, ['--disable-warning=ExperimentalWarning', MAIN, 'stats', 'hog'], {
      env: { ...process.env, SKIFF_SERVER: skiff.url, SKIFF_DATA_DIR: skiff.dataDir, SKIFF_TOKEN: '' },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    child.stdout.on('data', (chunk) => {
      stdout += chunk;
    });
    const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    try {
      await eventually('two frames', async () => (stdout.split('REPLICA').length > 2 ? true : undefined), {
        timeoutMs: 20_000,
      });
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0);
    assert.match(stdout, /hog-0\s+\S+\s+\d+\.\d+%/);
    assert.ok(!stdout.includes('\u001b['), 'no cursor control when stdout is not a terminal');
  });
});
