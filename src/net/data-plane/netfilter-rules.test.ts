import assert from 'node:assert/strict';
import { test } from 'node:test';
import {
  chainPrefix,
  cleanupScript,
  type KernelPlanInput,
  parseSave,
  planRules,
  restoreScript,
} from './netfilter-rules.ts';

const PREFIX = chainPrefix('1a2b3c4d-0000-0000-0000-000000000000');

function input(overrides: Partial<KernelPlanInput> = {}): KernelPlanInput {
  return {
    prefix: PREFIX,
    vips: [
      {
        key: 'web@default:8080',
        vip: '10.240.8.3',
        port: 8080,
        sourceCidr: '10.240.0.0/20',
        target: {
          kind: 'endpoints',
          endpoints: [
            { host: '10.240.0.5', port: 8080, remote: false },
            { host: '10.0.0.2', port: 32002, remote: true },
            { host: '10.0.0.3', port: 32003, remote: true },
          ],
        },
      },
    ],
    ingress: [],
    dns: [{ address: '10.240.0.1', port: 41234 }],
    allVips: ['10.240.8.3'],
    ...overrides,
  };
}

const EMPTY_SAVE = parseSave(
  '*nat\n:PREROUTING ACCEPT [0:0]\nCOMMIT\n*filter\n:INPUT ACCEPT [0:0]\nCOMMIT\n',
);

function chain(
  rules: ReturnType<typeof planRules>,
  table: 'nat' | 'filter',
  name: string,
): readonly string[] {
  const found = rules.tables[table].get(name);
  assert.ok(found, `${table} ${name} is planned`);
  return found;
}

test('chain names carry the cluster prefix and fit iptables’ 28 characters', () => {
  assert.equal(PREFIX, 'SKIFF-1a2b3c-');
  const rules = planRules(input());
  for (const table of ['nat', 'filter'] as const) {
    for (const name of rules.tables[table].keys()) {
      assert.ok(name.startsWith(PREFIX), name);
      assert.ok(name.length <= 28, `${name} is ${name.length} characters`);
    }
  }
});

test('a VIP port balances randomly over its endpoints: 1/n, 1/(n-1), …, then the last unconditionally', () => {
  const rules = planRules(input());
  const services = chain(rules, 'nat', `${PREFIX}SERVICES`);
  const vip = services.find((r) => r.includes('-d 10.240.8.3/32'));
  assert.ok(vip);
  assert.match(
    vip,
    /^-s 10\.240\.0\.0\/20 -d 10\.240\.8\.3\/32 -p tcp -m tcp --dport 8080 .* -j SKIFF-1a2b3c-SVC-[0-9A-F]{10}$/,
  );
  const svc = vip.split(' -j ')[1] ?? '';
  const picks = chain(rules, 'nat', svc);
  assert.equal(picks.length, 3);
  assert.match(picks[0] ?? '', /--probability 0\.3333333333 -j SKIFF-1a2b3c-SEP-/);
  assert.match(picks[1] ?? '', /--probability 0\.5000000000 -j SKIFF-1a2b3c-SEP-/);
  assert.doesNotMatch(picks[2] ?? '', /statistic/);
  const seps = picks.map((p) => p.split(' -j ')[1] ?? '');
  assert.equal(new Set(seps).size, 3, 'one chain per endpoint');
  // A local endpoint: masquerade only hairpin traffic (the client is the endpoint), then DNAT.
  assert.deepEqual(chain(rules, 'nat', seps[0] ?? ''), [
    '-s 10.240.0.5/32 -j MARK --set-xmark 0x20000/0x20000',
    '-p tcp -m tcp -j DNAT --to-destination 10.240.0.5:8080',
  ]);
  // A remote one: always masquerade, so the other host answers through us.
  assert.deepEqual(chain(rules, 'nat', seps[1] ?? ''), [
    '-j MARK --set-xmark 0x20000/0x20000',
    '-p tcp -m tcp -j DNAT --to-destination 10.0.0.2:32002',
  ]);
});

test('the plan is deterministic: the same endpoints give the same rules', () => {
  assert.deepEqual(planRules(input()), planRules(input()));
});

test('a port without endpoints gets no DNAT, and the VIP refuses what is not DNATed', () => {
  const rules = planRules(
    input({
      vips: [
        {
          key: 'db@default:5432',
          vip: '10.240.8.4',
          port: 5432,
          sourceCidr: '10.240.0.0/20',
          target: { kind: 'endpoints', endpoints: [] },
        },
      ],
      allVips: ['10.240.8.4'],
    }),
  );
  const services = chain(rules, 'nat', `${PREFIX}SERVICES`);
  assert.ok(!services.some((r) => r.includes('10.240.8.4')));
  assert.ok(![...rules.tables.nat.keys()].some((c) => c.includes('-SVC-')));
  assert.deepEqual(chain(rules, 'filter', `${PREFIX}INPUT`), [
    '-d 10.240.8.4/32 -p tcp -j REJECT --reject-with tcp-reset',
    '-d 10.240.8.4/32 -j REJECT --reject-with icmp-port-unreachable',
  ]);
  assert.deepEqual(chain(rules, 'filter', `${PREFIX}FORWARD`), [
    '-m conntrack --ctstate DNAT --ctorigdst 10.240.8.4/32 -j ACCEPT',
  ]);
});

test('DNS: gateway:53 over udp and tcp is DNATed to the agent’s own port, which serves both', () => {
  const rules = planRules(input());
  const services = chain(rules, 'nat', `${PREFIX}SERVICES`);
  assert.match(
    services[0] ?? '',
    /^-d 10\.240\.0\.1\/32 -p udp -m udp --dport 53 .*-j DNAT --to-destination 10\.240\.0\.1:41234$/,
  );
  assert.match(
    services[1] ?? '',
    /^-d 10\.240\.0\.1\/32 -p tcp -m tcp --dport 53 .*-j DNAT --to-destination 10\.240\.0\.1:41234$/,
  );
  assert.ok(!chain(rules, 'filter', `${PREFIX}INPUT`).some((rule) => rule.includes('--dport 53')));
});

test('HTTP ports go to the proxy’s own port; published ports skip loopback and are let through FORWARD', () => {
  const rules = planRules(
    input({
      vips: [
        {
          key: 'api@default:80',
          vip: '10.240.8.5',
          port: 80,
          sourceCidr: '10.240.0.0/20',
          target: { kind: 'redirect', port: 40001 },
        },
      ],
      ingress: [
        { key: 'api:ingress:8081', port: 8081, target: { kind: 'redirect', port: 40002 } },
        {
          key: 'tcp:ingress:9000',
          port: 9000,
          target: { kind: 'endpoints', endpoints: [{ host: '10.240.0.9', port: 9000, remote: false }] },
        },
      ],
      dns: [],
      allVips: ['10.240.8.5'],
    }),
  );
  const services = chain(rules, 'nat', `${PREFIX}SERVICES`);
  assert.match(
    services[0] ?? '',
    /-d 10\.240\.8\.5\/32 -p tcp -m tcp --dport 80 .*-j REDIRECT --to-ports 40001$/,
  );
  assert.match(
    services[1] ?? '',
    /^! -d 127\.0\.0\.0\/8 -p tcp -m tcp --dport 8081 -m addrtype --dst-type LOCAL .*-j REDIRECT --to-ports 40002$/,
  );
  assert.match(services[2] ?? '', /--dport 9000 -m addrtype --dst-type LOCAL .*-j SKIFF-1a2b3c-SVC-/);
  const forward = chain(rules, 'filter', `${PREFIX}FORWARD`);
  assert.ok(forward.some((r) => r.startsWith('-p tcp -m conntrack --ctstate DNAT --ctorigdstport 9000')));
});

test('the first restore creates the chains and hooks them in first; DOCKER-USER is used when Docker has it', () => {
  const saved = parseSave(
    '*filter\n:INPUT ACCEPT [0:0]\n:FORWARD DROP [0:0]\n:DOCKER-USER - [0:0]\n-A FORWARD -j DOCKER-USER\n-A DOCKER-USER -j RETURN\nCOMMIT\n',
  );
  const script = restoreScript(planRules(input()), saved);
  const lines = script.split('\n');
  assert.equal(lines[0], '*nat');
  assert.ok(lines.includes(`:${PREFIX}SERVICES - [0:0]`));
  assert.ok(lines.includes(`-I PREROUTING 1 -j ${PREFIX}SERVICES`));
  assert.ok(lines.includes(`-I OUTPUT 1 -j ${PREFIX}SERVICES`));
  assert.ok(lines.includes(`-I POSTROUTING 1 -j ${PREFIX}POSTROUTING`));
  assert.ok(lines.includes(`-I DOCKER-USER 1 -j ${PREFIX}FORWARD`));
  assert.ok(!lines.some((l) => l.startsWith('-I FORWARD')));
  assert.ok(lines.includes(`-I INPUT 1 -j ${PREFIX}INPUT`));
  assert.equal(lines.filter((l) => l === 'COMMIT').length, 2);
  assert.ok(!script.includes('-X'), 'nothing to delete');
  // Without Docker's chain, FORWARD itself.
  assert.match(restoreScript(planRules(input()), EMPTY_SAVE), new RegExp(`-I FORWARD 1 -j ${PREFIX}FORWARD`));
});

test('a restart diffs against what is there: stale chains of ours go, hooks are not added twice, others are untouched', () => {
  const first = planRules(input());
  const oldSep = `${PREFIX}SEP-0123456789`;
  const saved = parseSave(
    [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      ':OUTPUT ACCEPT [0:0]',
      ':POSTROUTING ACCEPT [0:0]',
      ':DOCKER - [0:0]',
      `:${PREFIX}SERVICES - [0:0]`,
      `:${PREFIX}POSTROUTING - [0:0]`,
      `:${oldSep} - [0:0]`,
      ':SKIFF-ffffff-SERVICES - [0:0]',
      `-A PREROUTING -j ${PREFIX}SERVICES`,
      '-A PREROUTING -j SKIFF-ffffff-SERVICES',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      `-A OUTPUT -j ${PREFIX}SERVICES`,
      `-A POSTROUTING -j ${PREFIX}POSTROUTING`,
      `-A ${PREFIX}SERVICES -d 10.240.8.9/32 -j ${oldSep}`,
      'COMMIT',
      '*filter',
      ':INPUT ACCEPT [0:0]',
      `:${PREFIX}INPUT - [0:0]`,
      `:${PREFIX}FORWARD - [0:0]`,
      `-A INPUT -j ${PREFIX}INPUT`,
      `-A FORWARD -j ${PREFIX}FORWARD`,
      'COMMIT',
    ].join('\n'),
  );
  const script = restoreScript(first, saved);
  const lines = script.split('\n');
  assert.ok(lines.includes(`:${oldSep} - [0:0]`), 'a stale chain is flushed');
  assert.ok(lines.includes(`-X ${oldSep}`), 'and deleted');
  assert.ok(!lines.some((l) => l.startsWith('-I ')), 'every hook is there already');
  assert.ok(!script.includes('SKIFF-ffffff'), 'another cluster’s chains are left alone');
  assert.ok(lines.includes(`:${PREFIX}SERVICES - [0:0]`), 'our chains are rewritten whole');
});

test('cleanup removes the jumps into a prefix’s chains, then the chains; all clusters with SKIFF-', () => {
  const saved = parseSave(
    [
      '*nat',
      ':PREROUTING ACCEPT [0:0]',
      `:${PREFIX}SERVICES - [0:0]`,
      `:${PREFIX}SVC-0123456789 - [0:0]`,
      ':SKIFF-ffffff-SERVICES - [0:0]',
      ':DOCKER - [0:0]',
      `-A PREROUTING -j ${PREFIX}SERVICES`,
      '-A PREROUTING -j SKIFF-ffffff-SERVICES',
      '-A PREROUTING -m addrtype --dst-type LOCAL -j DOCKER',
      `-A ${PREFIX}SERVICES -d 10.240.8.3/32 -j ${PREFIX}SVC-0123456789`,
      'COMMIT',
    ].join('\n'),
  );
  const one = cleanupScript(saved, PREFIX).split('\n');
  assert.deepEqual(one, [
    '*nat',
    `-D PREROUTING -j ${PREFIX}SERVICES`,
    `:${PREFIX}SERVICES - [0:0]`,
    `:${PREFIX}SVC-0123456789 - [0:0]`,
    `-X ${PREFIX}SERVICES`,
    `-X ${PREFIX}SVC-0123456789`,
    'COMMIT',
    '',
  ]);
  const all = cleanupScript(saved, 'SKIFF-');
  assert.match(all, /-D PREROUTING -j SKIFF-ffffff-SERVICES/);
  assert.doesNotMatch(all, /DOCKER/);
  assert.equal(cleanupScript(EMPTY_SAVE, PREFIX), '');
});

test('node ports: what the engine DNATs from the cluster address into our bridges passes only from nodes', () => {
  const ingress = [
    {
      key: 'web:ingress:80',
      port: 80,
      target: { kind: 'endpoints' as const, endpoints: [{ host: '10.240.0.5', port: 8080, remote: false }] },
    },
  ];
  const rules = planRules(
    input({
      ingress,
      nodePorts: {
        address: '10.0.0.1',
        peers: ['10.0.0.3', '10.0.0.2', '10.0.0.1', '10.0.0.2', 'node-9; -j ACCEPT', '10.0.0.4 -j ACCEPT'],
        bridges: 'skiff1a2b3c-+',
        openPorts: [
          { port: 9000, protocol: 'udp' },
          { port: 5432, protocol: 'tcp' },
        ],
        localPorts: [
          { port: 32771, protocol: 'udp' },
          { port: 5432, protocol: 'tcp' },
          { port: 32770, protocol: 'tcp' },
        ],
      },
    }),
  );
  const forward = chain(rules, 'filter', `${PREFIX}FORWARD`);
  const fromEngine = '-m conntrack --ctstate DNAT --ctorigdst 10.0.0.1/32';
  // Ingress (anyone, the spec's published port) and VIPs are accepted first; the user's host-mode
  // ports are left to the engine's own rules; everything else into our bridges is a node port.
  assert.deepEqual(forward.slice(-3), [
    `-p tcp ${fromEngine} --ctorigdstport 5432 -m comment --comment "host port 5432" -j RETURN`,
    `-p udp ${fromEngine} --ctorigdstport 9000 -m comment --comment "host port 9000" -j RETURN`,
    `-o skiff1a2b3c-+ ${fromEngine} -m comment --comment "node ports" -j ${PREFIX}PEERS`,
  ]);
  assert.ok(forward.findIndex((r) => r.includes('--ctorigdstport 80 ')) < forward.length - 3);
  assert.deepEqual(chain(rules, 'filter', `${PREFIX}PEERS`), [
    '-s 10.0.0.1/32 -j RETURN',
    '-s 10.0.0.2/32 -j RETURN',
    '-s 10.0.0.3/32 -j RETURN',
    '-p tcp -m comment --comment "not a node of this cluster" -j REJECT --reject-with tcp-reset',
    '-j REJECT --reject-with icmp-port-unreachable',
  ]);
  // From a bridge the engine's user-space proxy answers (INPUT): the node ports go to PEERS
  // there too, the user's host-mode port does not.
  const inputRules = chain(rules, 'filter', `${PREFIX}INPUT`).filter((r) => r.includes('node port'));
  assert.deepEqual(inputRules, [
    `! -i lo -d 10.0.0.1/32 -p tcp -m tcp --dport 32770 -m conntrack ! --ctstate DNAT -m comment --comment "node port" -j ${PREFIX}PEERS`,
    `! -i lo -d 10.0.0.1/32 -p udp -m udp --dport 32771 -m conntrack ! --ctstate DNAT -m comment --comment "node port" -j ${PREFIX}PEERS`,
  ]);
  // Declared and filled in one restore; gone (and the jump with it) once the filter is off.
  const script = restoreScript(rules, EMPTY_SAVE);
  assert.ok(script.indexOf(`:${PREFIX}PEERS - [0:0]`) < script.indexOf(`-j ${PREFIX}PEERS`));
  const saved = parseSave(
    `*filter\n:INPUT ACCEPT [0:0]\n:${PREFIX}PEERS - [0:0]\n:${PREFIX}FORWARD - [0:0]\nCOMMIT\n`,
  );
  assert.match(restoreScript(planRules(input()), saved), new RegExp(`-X ${PREFIX}PEERS`));
});

test('node ports: no filter without a peer list or with an address that is not plain IPv4', () => {
  for (const address of ['node-1.example', '10.0.0.1/8 -j ACCEPT']) {
    const rules = planRules(
      input({
        nodePorts: {
          address,
          peers: ['10.0.0.2'],
          bridges: 'skiff1a2b3c-+',
          openPorts: [],
          localPorts: [{ port: 32770, protocol: 'tcp' }],
        },
      }),
    );
    assert.equal(rules.tables.filter.has(`${PREFIX}PEERS`), false, address);
    assert.doesNotMatch(JSON.stringify([...rules.tables.filter]), /node port/);
  }
  assert.equal(planRules(input()).tables.filter.has(`${PREFIX}PEERS`), false);
});
