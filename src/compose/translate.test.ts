/* biome-ignore-all lint/suspicious/noTemplateCurlyInString: the files hold Compose's own ${VAR} syntax */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { serviceSpecSchema } from '../model/service-spec.ts';
import { ComposeError } from './compose-error.ts';
import { parseComposeFile } from './compose-file.ts';
import type { Environment } from './interpolate.ts';
import { mergeComposeFiles } from './merge.ts';
import { type StackPlan, translateCompose } from './translate.ts';

function plan(
  files: Record<string, string>,
  options: { stack?: string; env?: Environment; envFiles?: Record<string, string> } = {},
): StackPlan {
  const env = options.env ?? {};
  const parsed = Object.entries(files).map(([file, text]) => parseComposeFile(file, text, env));
  return translateCompose(mergeComposeFiles(parsed), {
    stack: options.stack ?? 'shop',
    env,
    envFiles: new Map(Object.entries(options.envFiles ?? {})),
  });
}

function failure(run: () => unknown): ComposeError {
  try {
    run();
  } catch (error) {
    if (error instanceof ComposeError) return error;
    throw error;
  }
  assert.fail('expected a ComposeError');
}

const webApp = `
services:
  web:
    image: shop/web:1.4
    command: ["node", "server.js"]
    environment:
      DATABASE_URL: postgres://db:5432/shop
      REDIS_URL: redis://cache:6379
    ports:
      - "80:8080"
    depends_on: [db, cache]
    deploy:
      replicas: 3
      resources:
        limits: { cpus: "0.5", memory: 256M }
      update_config:
        parallelism: 1
        delay: 10s
        order: start-first
        failure_action: rollback
      restart_policy:
        condition: on-failure
        delay: 5s
        max_attempts: 3
      placement:
        constraints: ["node.labels.tier == front"]
    healthcheck:
      test: ["CMD", "wget", "-q", "-O-", "http://localhost:8080/health"]
      interval: 5s
      timeout: 2s
      retries: 3
      start_period: 10s
  db:
    image: postgres:16
    environment:
      - POSTGRES_DB=shop
      - POSTGRES_PASSWORD_FILE=/run/secrets/db_password
    secrets: [db_password]
    expose: ["5432"]
    healthcheck:
      test: pg_isready -U postgres
    stop_grace_period: 30s
  cache:
    image: redis:7
    command: redis-server --save ""
    ulimits:
      nofile: { soft: 20000, hard: 40000 }
    tmpfs: /data:size=64m
secrets:
  db_password:
    file: ./db_password.txt
`;

test('a web app with a database and a cache: names, aliases, networks, ports, resources, checks', () => {
  const result = plan({ 'compose.yml': webApp });
  const byName = new Map(result.services.map((s) => [s.name, s]));
  assert.deepEqual([...byName.keys()], ['shop-web', 'shop-db', 'shop-cache']);
  const web = byName.get('shop-web');
  assert.ok(web);
  assert.deepEqual(web.aliases, ['web']);
  assert.deepEqual(web.networks, ['shop-default']);
  assert.deepEqual(web.command, ['node', 'server.js']);
  assert.deepEqual(web.ports, [{ container_port: 8080, host_port: 80, protocol: 'tcp' }]);
  assert.equal(web.replicas, 3);
  assert.deepEqual(web.resources, { cpus: 0.5, memory_mb: 256 });
  assert.deepEqual(web.update, {
    max_surge: 1,
    max_unavailable: 0,
    min_healthy_time: '10s',
    auto_rollback: true,
  });
  assert.deepEqual(web.restart_policy, { condition: 'on-failure', delay: '5s', max_attempts: 3 });
  assert.deepEqual(web.placement, { constraints: ['tier==front'] });
  assert.deepEqual(web.health_check, {
    type: 'exec',
    command: ['wget', '-q', '-O-', 'http://localhost:8080/health'],
    interval: '5s',
    timeout: '2s',
    retries: 3,
    start_period: '10s',
  });
  assert.deepEqual(web.labels, { 'skiff.stack': 'shop', 'skiff.stack.service': 'web' });
  const db = byName.get('shop-db');
  assert.deepEqual(db?.env, { POSTGRES_DB: 'shop', POSTGRES_PASSWORD_FILE: '/run/secrets/db_password' });
  assert.deepEqual(db?.secrets, [{ name: 'shop-db_password', target: 'db_password' }]);
  assert.deepEqual(
    db?.ports,
    [{ container_port: 5432, protocol: 'tcp' }],
    'expose makes a port reachable by name',
  );
  assert.deepEqual(
    db?.health_check?.command,
    ['sh', '-c', 'pg_isready -U postgres'],
    'a string test runs in a shell',
  );
  assert.equal(db?.stop_grace_period, '30s');
  const cache = byName.get('shop-cache');
  assert.deepEqual(cache?.command, ['redis-server', '--save', '']);
  assert.deepEqual(cache?.ulimits, { nofile: { soft: 20000, hard: 40000 } });
  assert.deepEqual(cache?.tmpfs, [{ target: '/data', size_mb: 64 }]);
  assert.deepEqual(result.objects, [
    { kind: 'secret', name: 'shop-db_password', source: { file: './db_password.txt' } },
  ]);
  assert.deepEqual(result.warnings, [
    'compose.yml:11: services.web.depends_on: ignored, as docker stack deploy ignores it',
  ]);
  for (const spec of result.services) assert.ok(serviceSpecSchema.safeParse(spec).success, spec.name);
});

test('interpolation from the environment, with defaults and a required variable', () => {
  const file = `
services:
  api:
    image: "shop/api:\${TAG:-latest}"
    environment:
      LOG_LEVEL: \${LOG_LEVEL:-info}
      PRICE: "$$5"
    ports: ["\${PORT}:8080"]
`;
  const result = plan({ 'compose.yml': file }, { env: { TAG: 'v7', PORT: '8081' } });
  const [api] = result.services;
  assert.equal(api?.image, 'shop/api:v7');
  assert.deepEqual(api?.env, { LOG_LEVEL: 'info', PRICE: '$5' });
  assert.deepEqual(api?.ports, [{ container_port: 8080, host_port: 8081, protocol: 'tcp' }]);
  const required = failure(() =>
    plan({
      'compose.yml':
        'services:\n  api:\n    image: x\n    environment:\n      KEY: ${API_KEY:?set API_KEY}\n',
    }),
  );
  assert.equal(
    required.message,
    'compose.yml:5: services.api.environment.KEY: required variable API_KEY is not set: set API_KEY',
  );
});

test('two files merged in order: maps by key, environment by name, ports as a union, command replaced', () => {
  const base = `
services:
  web:
    image: shop/web:1
    command: ["serve", "--port", "8080"]
    environment: ["MODE=base", "KEEP=1"]
    ports: ["80:8080", "9090"]
    deploy: { replicas: 1, labels: { team: shop } }
`;
  const override = `
services:
  web:
    image: shop/web:2
    command: serve --verbose
    environment: { MODE: prod }
    ports: ["8080:8080", "9090"]
    deploy: { replicas: 4 }
  worker:
    image: shop/worker:2
`;
  const result = plan({ 'base.yml': base, 'override.yml': override });
  const web = result.services.find((s) => s.name === 'shop-web');
  assert.equal(web?.image, 'shop/web:2');
  assert.deepEqual(web?.command, ['serve', '--verbose']);
  assert.deepEqual(web?.env, { MODE: 'prod', KEEP: '1' });
  assert.deepEqual(web?.ports, [
    { container_port: 8080, host_port: 80, protocol: 'tcp' },
    { container_port: 9090, protocol: 'tcp' },
    { container_port: 8080, host_port: 8080, protocol: 'tcp' },
  ]);
  assert.equal(web?.replicas, 4);
  assert.equal(web?.labels?.team, 'shop', 'deploy.labels kept from the base file');
  assert.deepEqual(
    result.services.map((s) => s.name),
    ['shop-web', 'shop-worker'],
  );
});

test('healthchecks: CMD, CMD-SHELL, a string, NONE and disable', () => {
  const checks = {
    a: '["CMD", "true"]',
    b: '["CMD-SHELL", "curl -f http://localhost || exit 1"]',
    c: 'test -f /tmp/ready',
    d: '["NONE"]',
  };
  const services = Object.entries(checks)
    .map(([name, check]) => `  ${name}:\n    image: x\n    healthcheck:\n      test: ${check}\n`)
    .join('');
  const result = plan({
    'compose.yml': `services:\n${services}  e:\n    image: x\n    healthcheck:\n      disable: true\n`,
  });
  const commands = Object.fromEntries(result.services.map((s) => [s.name, s.health_check?.command]));
  assert.deepEqual(commands, {
    'shop-a': ['true'],
    'shop-b': ['sh', '-c', 'curl -f http://localhost || exit 1'],
    'shop-c': ['sh', '-c', 'test -f /tmp/ready'],
    'shop-d': undefined,
    'shop-e': undefined,
  });
  assert.equal(result.services[0]?.health_check?.interval, '30s', "Docker's default interval");
});

test('every key Swarm ignores costs one warning with its line, and nothing else', () => {
  const ignored = [
    'build: .',
    'container_name: web',
    'depends_on: [db]',
    'restart: always',
    'privileged: true',
    'network_mode: bridge',
    'links: [db]',
    'security_opt: [no-new-privileges]',
    'devices: [/dev/fuse]',
    'cgroup_parent: x',
    'userns_mode: host',
  ];
  const file = `services:\n  web:\n    image: x\n${ignored.map((line) => `    ${line}\n`).join('')}`;
  const result = plan({ 'compose.yml': file });
  assert.deepEqual(
    result.warnings,
    ignored.map(
      (line, i) =>
        `compose.yml:${i + 4}: services.web.${line.split(':')[0]}: ignored, as docker stack deploy ignores it`,
    ),
  );
  const [web] = result.services;
  assert.equal(web?.privileged, undefined);
});

test('an invalid key is an error with its file and line; nothing is planned', () => {
  const file = 'services:\n  web:\n    image: x\n    deploy:\n      replicas: 2\n      replicsa: 3\n';
  assert.equal(
    failure(() => plan({ 'compose.yml': file })).message,
    'compose.yml:6: services.web.deploy.replicsa: not a Compose deploy key',
  );
  assert.equal(
    failure(() => plan({ 'compose.yml': 'services:\n  web:\n    image: x\n    imagee: y\n' })).message,
    'compose.yml:4: services.web.imagee: not a Compose service key',
  );
  assert.equal(
    failure(() => plan({ 'compose.yml': 'services:\n  web:\n    image: x\n    ports: ["80:abc"]\n' }))
      .message,
    'compose.yml:4: services.web.ports.0: target "abc" is not a port',
  );
  const overridden = failure(() =>
    plan({
      'a.yml': 'services:\n  web:\n    image: x\n',
      'b.yml': '\nservices:\n  web:\n    deploy: { mode: daemon }\n',
    }),
  );
  assert.equal(overridden.file, 'b.yml', 'the error names the file that set the key');
  assert.equal(overridden.line, 4);
  assert.match(
    failure(() => plan({ 'compose.yml': 'services:\n  web:\n    build: .\n' })).message,
    /services\.web\.build: a stack runs images/,
  );
  assert.match(
    failure(() => plan({ 'compose.yml': 'services:\n  web: [\n' })).message,
    /^compose\.yml:\d+: not valid YAML/,
  );
});

test('networks: declared ones are the stack’s own, external ones shared; aliases join the short name', () => {
  const file = `
services:
  web:
    image: x
    networks:
      front:
        aliases: [www]
      shared: {}
  api:
    image: x
    networks: [back]
networks:
  front: {}
  back: { driver: overlay }
  shared: { external: true, name: common }
`;
  const result = plan({ 'compose.yml': file });
  const [web, api] = result.services;
  assert.deepEqual(web?.networks, ['shop-front', 'common']);
  assert.deepEqual(web?.aliases, ['web', 'www']);
  assert.deepEqual(api?.networks, ['shop-back']);
  assert.equal(
    failure(() => plan({ 'compose.yml': 'services:\n  web:\n    image: x\n    networks: [nowhere]\n' })).key,
    'services.web.networks.nowhere',
  );
});

test('volumes: named (stack-prefixed, named or external), bind, tmpfs and anonymous translate to the spec', () => {
  const result = plan({
    'compose.yml': [
      'services:',
      '  db:',
      '    image: x',
      '    volumes:',
      '      - data:/var/lib/db',
      '      - logs:/logs:ro',
      '      - /srv/conf:/etc/conf:ro',
      '      - type: tmpfs',
      '        target: /cache',
      '        tmpfs: { size: 16m }',
      '      - /scratch',
      '      - type: volume',
      '        source: slots',
      '        target: /slots',
      'volumes:',
      '  data: {}',
      '  logs: { external: true }',
      '  slots: { name: "slot-{{.Task.Slot}}" }',
      '',
    ].join('\n'),
  });
  assert.deepEqual(result.services[0]?.volumes, [
    { type: 'volume', source: 'shop_data', target: '/var/lib/db' },
    { type: 'volume', source: 'logs', target: '/logs', read_only: true },
    { type: 'bind', source: '/srv/conf', target: '/etc/conf', read_only: true },
    { type: 'tmpfs', target: '/cache', size_mb: 16 },
    { type: 'volume', target: '/scratch' },
    { type: 'volume', source: 'slot-{{.Task.Slot}}', target: '/slots' },
  ]);
  assert.ok(
    result.warnings.some((w) => /services\.db\.volumes\.4: anonymous volume/.test(w)),
    String(result.warnings),
  );
  for (const spec of result.services) assert.ok(serviceSpecSchema.safeParse(spec).success, spec.name);
});

test('volumes: undeclared, relative binds and other drivers are refused naming the key', () => {
  const undeclared = failure(() =>
    plan({ 'compose.yml': 'services:\n  db:\n    image: x\n    volumes: ["data:/var/lib/db"]\n' }),
  );
  assert.equal(undeclared.key, 'services.db.volumes.0');
  assert.match(undeclared.reason, /not declared under volumes/);
  const relative = failure(() =>
    plan({ 'compose.yml': 'services:\n  db:\n    image: x\n    volumes: ["./conf:/etc/conf:ro"]\n' }),
  );
  assert.match(relative.reason, /absolute host path/);
  const driver = failure(() =>
    plan({
      'compose.yml':
        'services:\n  db:\n    image: x\n    volumes: ["data:/d"]\nvolumes:\n  data: { driver: nfs }\n',
    }),
  );
  assert.equal(driver.key, 'volumes.data.driver');
  assert.match(driver.reason, /local to a node/);
});

test('env_file values come first, environment wins; a missing required env_file is an error', () => {
  const file = 'services:\n  web:\n    image: x\n    env_file: [web.env]\n    environment: { MODE: prod }\n';
  const result = plan(
    { 'compose.yml': file },
    { envFiles: { 'web.env': '# comment\nMODE=dev\nTOKEN=abc\n' } },
  );
  assert.deepEqual(result.services[0]?.env, { MODE: 'prod', TOKEN: 'abc' });
  assert.equal(failure(() => plan({ 'compose.yml': file })).key, 'services.web.env_file.0');
});

test('deploy.mode global: one replica per node, replicas ignored with a warning', () => {
  const result = plan({
    'compose.yml': 'services:\n  logs:\n    image: x\n    deploy: { mode: global, replicas: 2 }\n',
  });
  assert.equal(result.services[0]?.mode, 'global');
  assert.equal(result.services[0]?.replicas, undefined);
  assert.match(result.warnings[0] ?? '', /deploy\.replicas: ignored/);
});

test('update_config stop-first, parallelism 0 and monitor; restart condition none', () => {
  const file = `
services:
  web:
    image: x
    deploy:
      replicas: 4
      update_config: { order: stop-first, parallelism: 0, delay: 1s, monitor: 15s, failure_action: pause }
      restart_policy: { condition: none }
`;
  const [web] = plan({ 'compose.yml': file }).services;
  assert.deepEqual(web?.update, {
    max_surge: 0,
    max_unavailable: 4,
    min_healthy_time: '15s',
    auto_rollback: false,
  });
  assert.deepEqual(web?.restart_policy, { condition: 'never' });
});

test('a value Skiff refuses is an error at the service, naming the field', () => {
  const error = failure(() =>
    plan({ 'compose.yml': 'services:\n  web:\n    image: x\n    deploy: { replicas: 5000 }\n' }),
  );
  assert.equal(error.key, 'services.web');
  assert.match(error.reason, /^replicas: /);
  assert.match(
    failure(() => plan({ 'compose.yml': 'services:\n  Web_1:\n    image: x\n' })).reason,
    /lowercase/,
  );
});

test('x-skiff-autoscale (or deploy.x-autoscale) is the service’s autoscale; an error names its line', () => {
  const file = `
services:
  web:
    image: x
    deploy:
      resources: { limits: { cpus: "0.5" } }
      placement: { max_replicas_per_node: 2 }
    x-skiff-autoscale: { min: 2, max: 6, target_cpu_percent: 70 }
  api:
    image: x
    deploy:
      x-autoscale: { min: 1, max: 3, target_cpu_percent: 60, cooldown_down: 1m }
`;
  const [web, api] = plan({ 'compose.yml': file }).services;
  assert.deepEqual(web?.autoscale, { min: 2, max: 6, target_cpu_percent: 70 });
  assert.equal(web?.placement?.max_replicas_per_node, 2);
  assert.deepEqual(api?.autoscale, { min: 1, max: 3, target_cpu_percent: 60, cooldown_down: '1m' });

  const bad = failure(() =>
    plan({
      'compose.yml':
        'services:\n  web:\n    image: x\n    x-skiff-autoscale:\n      min: 3\n      max: 2\n      target_cpu_percent: 70\n',
    }),
  );
  assert.equal(bad.key, 'services.web.x-skiff-autoscale.min');
  assert.equal(bad.line, 5);
  assert.match(bad.reason, /min must not exceed max/);
  const both = failure(() =>
    plan({
      'compose.yml':
        'services:\n  web:\n    image: x\n    x-skiff-autoscale: { min: 1, max: 2, target_cpu_percent: 50 }\n    deploy: { x-autoscale: { min: 1, max: 2, target_cpu_percent: 50 } }\n',
    }),
  );
  assert.match(both.reason, /not both/);
  const perNode = failure(() =>
    plan({
      'compose.yml':
        'services:\n  web:\n    image: x\n    deploy: { placement: { max_replicas_per_node: 0 } }\n',
    }),
  );
  assert.equal(perNode.key, 'services.web.deploy.placement.max_replicas_per_node');
});
