import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseMemoryMb, parsePortFlag, parseSinceFlag, parseSizeBytes } from './flag-values.ts';

test('ports: container only, host:container, and a protocol', () => {
  assert.deepEqual(parsePortFlag('--port', '8080'), { container_port: 8080, protocol: 'tcp' });
  assert.deepEqual(parsePortFlag('--port', '80:8080'), {
    container_port: 8080,
    host_port: 80,
    protocol: 'tcp',
  });
  assert.deepEqual(parsePortFlag('--port', '53/UDP'), { container_port: 53, protocol: 'udp' });
  assert.deepEqual(parsePortFlag('--port', '80:80/tcp'), {
    container_port: 80,
    host_port: 80,
    protocol: 'tcp',
  });
  for (const bad of ['', ':80', '80:', '0', '80:0', '1.2.3.4:80:80', '80/sctp', 'http']) {
    assert.throws(() => parsePortFlag('--port', bad), /--port/, bad);
  }
});

test('memory: bare MiB, m and g suffixes, binary and decimal spellings', () => {
  assert.equal(parseMemoryMb('--memory', '512'), 512);
  assert.equal(parseMemoryMb('--memory', '512m'), 512);
  assert.equal(parseMemoryMb('--memory', '512MiB'), 512);
  assert.equal(parseMemoryMb('--memory', '1g'), 1024);
  assert.equal(parseMemoryMb('--memory', '1.5G'), 1536);
  assert.equal(parseMemoryMb('--memory', '2gb'), 2048);
  for (const bad of ['', 'g', '0', '0.0001m', '512k', '-1g', '1 gigabyte']) {
    assert.throws(() => parseMemoryMb('--memory', bad), /--memory/, bad);
  }
});

test('sizes in bytes mean what they mean in MiB: a bare number is MiB, not bytes', () => {
  assert.equal(parseSizeBytes('--memory', '512'), 512 * 1024 ** 2);
  assert.equal(parseSizeBytes('--memory', '8g'), 8 * 1024 ** 3);
  assert.equal(parseSizeBytes('--memory', '1.5G'), 1.5 * 1024 ** 3);
  assert.throws(
    () => parseSizeBytes('--memory', '512k'),
    /--memory must be a size such as "512", "512m" or "1g"/,
  );
});

test('since: a duration ago, unix seconds or an RFC 3339 time, passed on as written', () => {
  assert.equal(parseSinceFlag('--since', '10m'), '10m');
  assert.equal(parseSinceFlag('--since', '1705314225'), '1705314225');
  assert.equal(parseSinceFlag('--since', '2024-01-15T10:23:45Z'), '2024-01-15T10:23:45Z');
  assert.equal(parseSinceFlag('--since', '2024-01-15T10:23:45+01:00'), '2024-01-15T10:23:45+01:00');
  for (const bad of ['yesterday', '10 minutes', '2024-13-45T00:00:00Z']) {
    assert.throws(() => parseSinceFlag('--since', bad), /--since/, bad);
  }
});
