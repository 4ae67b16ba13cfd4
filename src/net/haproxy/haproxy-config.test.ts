import assert from 'node:assert/strict';
import { test } from 'node:test';
import { type HaproxyConfigInput, haproxyName, renderConfig } from './haproxy-config.ts';
import { planSlots } from './haproxy-slots.ts';

const slots = planSlots(undefined, [
  { id: 'web-0', host: '10.96.0.5', port: 8080 },
  { id: 'web-1', host: '10.231.0.3', port: 32768 },
]).table;

function input(overrides: Partial<HaproxyConfigInput> = {}): HaproxyConfigInput {
  return {
    adminSocket: '/var/lib/skiff/agent/haproxy/admin.sock',
    connectTimeoutMs: 2000,
    serverTimeoutMs: 60_000,
    hardStopAfterMs: 60_000,
    routes: [
      {
        key: 'web@default:8080',
        name: haproxyName('web@default:8080'),
        binds: [{ host: '0.0.0.0', port: 40001 }],
        strategy: 'round-robin',
        allowCidrs: ['10.96.0.0/20'],
        slots,
      },
      {
        key: 'web:ingress:18080',
        name: haproxyName('web:ingress:18080'),
        binds: [
          { host: '0.0.0.0', port: 40002 },
          { host: '127.0.0.1', port: 18080 },
        ],
        strategy: 'least-connections',
        slots,
      },
    ],
    ...overrides,
  };
}

function section(config: string, header: string): string[] {
  const lines = config.split('\n');
  const start = lines.indexOf(header);
  assert.ok(start >= 0, `${header} in\n${config}`);
  const end = lines.findIndex((line, i) => i > start && (line === '' || !line.startsWith('  ')));
  return lines.slice(start + 1, end === -1 ? undefined : end).map((line) => line.trim());
}

test('names keep what HAProxy allows and replace the rest', () => {
  assert.equal(haproxyName('web@default:8080'), 'r_web_default:8080');
  assert.equal(haproxyName('web:ingress:18080'), 'r_web:ingress:18080');
});

test('global: the runtime socket hands listeners over on reload; one thread', () => {
  const global = section(renderConfig(input()), 'global');
  assert.ok(
    global.includes(
      'stats socket /var/lib/skiff/agent/haproxy/admin.sock mode 600 level admin expose-fd listeners',
    ),
  );
  assert.ok(global.includes('nbthread 1'));
  assert.ok(global.includes('hard-stop-after 60000ms'));
});

test('defaults: forwardfor, retries on a failed connect to another server, timeouts from the options', () => {
  const defaults = section(renderConfig(input({ connectTimeoutMs: 1500 })), 'defaults');
  for (const line of [
    'mode http',
    'option forwardfor',
    'retry-on conn-failure empty-response',
    'option redispatch 1',
    'option idle-close-on-response',
    'retries 3',
    'timeout connect 1500ms',
    'timeout server 60000ms',
  ]) {
    assert.ok(defaults.includes(line), `${line} in ${defaults.join(' | ')}`);
  }
});

test('a VIP route: its bind, isolation by source CIDR with a 403, X-Forwarded-Proto, roundrobin', () => {
  const config = renderConfig(input());
  const frontend = section(config, 'frontend r_web_default:8080');
  assert.deepEqual(frontend[0], 'bind 0.0.0.0:40001');
  assert.ok(frontend.includes('http-request deny deny_status 403 unless { src 10.96.0.0/20 }'));
  assert.ok(frontend.some((line) => line.startsWith('http-request set-header X-Forwarded-Proto http')));
  assert.ok(frontend.includes('default_backend r_web_default:8080'));
  const backend = section(config, 'backend r_web_default:8080');
  assert.equal(backend[0], 'balance roundrobin');
  assert.ok(backend.includes('http-request disable-l7-retry unless { method GET HEAD OPTIONS }'));
  assert.deepEqual(
    backend.filter((line) => line.startsWith('server ')),
    [
      'server s0 10.96.0.5:8080',
      'server s1 10.231.0.3:32768',
      'server s2 127.0.0.1:9 disabled',
      'server s3 127.0.0.1:9 disabled',
    ],
  );
});

test('an ingress route: the REDIRECT port and loopback, anyone may connect, leastconn', () => {
  const config = renderConfig(input());
  const frontend = section(config, 'frontend r_web:ingress:18080');
  assert.deepEqual(frontend.slice(0, 2), ['bind 0.0.0.0:40002', 'bind 127.0.0.1:18080']);
  assert.ok(!frontend.some((line) => line.includes('deny')));
  assert.equal(section(config, 'backend r_web:ingress:18080')[0], 'balance leastconn');
});

test('no allowed CIDR lets nobody in; a route with no bind has a backend and no frontend', () => {
  const base = input().routes[0];
  assert.ok(base);
  const config = renderConfig(
    input({
      routes: [
        { ...base, allowCidrs: [] },
        { ...base, key: 'x:1', name: 'r_x:1', binds: [] },
      ],
    }),
  );
  assert.ok(
    section(config, 'frontend r_web_default:8080').includes(
      'http-request deny deny_status 403 unless { src 0.0.0.0/32 }',
    ),
  );
  assert.ok(!config.includes('frontend r_x:1'));
  assert.ok(config.includes('backend r_x:1'));
});

test('with a request log, every frontend logs each request through a ring to the agent socket', () => {
  const text = renderConfig(input({ requestLogSocket: '/var/lib/skiff/agent/haproxy/log.sock' }));
  assert.match(text, /^ring skiff_requests\n {2}format raw\n/m);
  assert.match(text, /^ {2}server agent unix@\/var\/lib\/skiff\/agent\/haproxy\/log\.sock$/m);
  const defaults = text.slice(text.indexOf('\ndefaults\n'), text.indexOf('\nfrontend '));
  assert.match(defaults, /^ {2}log ring@skiff_requests local0 info$/m);
  assert.match(defaults, /^ {2}log-format "%f %ST %Ta"$/m);
  assert.match(defaults, /^ {2}option dontlognull$/m);
  // Without one: no ring, no log.
  const plain = renderConfig(input());
  assert.doesNotMatch(plain, /ring|log-format|\blog /);
});
