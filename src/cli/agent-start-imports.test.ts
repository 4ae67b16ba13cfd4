import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { test } from 'node:test';
import { fileURLToPath } from 'node:url';

/**
 * Every module URL resolved while `entry` is imported, in a fresh Node (resolve hooks see ESM
 * imports and CommonJS requires alike).
 */
function modulesLoadedBy(entry: string): string[] {
  const probe = `
    import { registerHooks } from 'node:module';
    const seen = new Set();
    registerHooks({ resolve(specifier, context, next) { const r = next(specifier, context); seen.add(r.url); return r; } });
    await import(${JSON.stringify(entry)});
    process.stdout.write(JSON.stringify([...seen]));
  `;
  const output = execFileSync(
    process.execPath,
    ['--disable-warning=ExperimentalWarning', '--input-type=module', '-e', probe],
    { encoding: 'utf8', timeout: 60_000 },
  );
  return JSON.parse(output) as string[];
}

const processCommands = fileURLToPath(new URL('./process-commands.ts', import.meta.url));

test("`skiff agent`'s modules leave out the certificate issuer and the server half", () => {
  const loaded = modulesLoadedBy(processCommands);
  // The probe sees the agent itself: the absences below are real.
  assert.ok(
    loaded.some((url) => url.endsWith('/src/agent/agent.ts')),
    'the agent is loaded',
  );
  assert.ok(loaded.some((url) => url.endsWith('/src/security/certificate-facts.ts')));
  // 150–250 ms of loading on an idle host and 4 MB of heap: an agent joins and renews with
  // node:crypto alone (node-request.ts).
  const issuer = loaded.filter((url) =>
    /@peculiar\/x509|reflect-metadata|\/security\/certificates\.ts$/.test(url),
  );
  assert.deepEqual(issuer, [], 'an agent loads no issuing library');
  const server = loaded.filter((url) =>
    /\/src\/server\/skiff-server\.ts$|\/src\/store\/|\/etcd3\//.test(url),
  );
  assert.deepEqual(server, [], 'an agent loads none of the server, its stores or etcd');
});

test('the server half is still there for `skiff server` (the lazy import resolves)', async () => {
  const { startServer } = await import('../server/skiff-server.ts');
  assert.equal(typeof startServer, 'function');
  const { createNodeRequest } = await import('../security/certificates.ts');
  const request = await createNodeRequest('n1');
  assert.match(request.csrPem, /BEGIN CERTIFICATE REQUEST/);
});
