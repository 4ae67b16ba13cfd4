import assert from 'node:assert/strict';
import { createServer } from 'node:net';
import { test } from 'node:test';
import {
  commandName,
  describeConflict,
  findConflicts,
  parseProcNet,
  portConflicts,
  readListeningSockets,
  socketOwners,
} from './listening-sockets.ts';

const TCP = `  sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000:0016 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 1111 1 0000000000000000 100 0 0 10 0
   1: 0100007F:1F90 00000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 2222 1 0000000000000000 100 0 0 10 0
   2: 0100007F:A599 0100007F:C1C2 01 00000000:00000000 03:00000B60 00000000     0        0 3333 3 0000000000000000
`;

const TCP6 = `  sl  local_address                         remote_address                        st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode
   0: 00000000000000000000000000000000:0050 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 4444 1 0000000000000000 100 0 0 10 0
   1: 0000000000000000FFFF00000100007F:0035 00000000000000000000000000000000:0000 0A 00000000:00000000 00:00000000 00000000     0        0 5555 1 0000000000000000 100 0 0 10 0
`;

const UDP = `   sl  local_address rem_address   st tx_queue rx_queue tr tm->when retrnsmt   uid  timeout inode ref pointer drops
  10: 3500007F:0035 00000000:0000 07 00000000:00000000 00:00000000 00000000   101        0 6666 2 0000000000000000 0
  11: 0100007F:D431 0100007F:0035 01 00000000:00000000 00:00000000 00000000     0        0 7777 2 0000000000000000 0
`;

test('/proc/net rows: listening TCP and unconnected UDP sockets, addresses in the usual spelling', () => {
  assert.deepEqual(parseProcNet(TCP, 'tcp'), [
    { protocol: 'tcp', address: '0.0.0.0', port: 22, inode: 1111 },
    { protocol: 'tcp', address: '127.0.0.1', port: 8080, inode: 2222 },
  ]);
  assert.deepEqual(parseProcNet(TCP6, 'tcp'), [
    { protocol: 'tcp', address: '::', port: 80, inode: 4444 },
    { protocol: 'tcp', address: '::ffff:127.0.0.1', port: 53, inode: 5555 },
  ]);
  assert.deepEqual(parseProcNet(UDP, 'udp'), [
    { protocol: 'udp', address: '127.0.0.53', port: 53, inode: 6666 },
  ]);
});

test('a conflict is any socket on the port but our own loopback listener', () => {
  const sockets = [...parseProcNet(TCP, 'tcp'), ...parseProcNet(TCP6, 'tcp')];
  const ours = new Set([2222, 4444]);
  const held = findConflicts(
    sockets,
    [
      { protocol: 'tcp', port: 22 },
      { protocol: 'tcp', port: 8080 },
      { protocol: 'tcp', port: 80 },
      { protocol: 'tcp', port: 9999 },
    ],
    ours,
  );
  // 8080 is ours on 127.0.0.1 (the loopback listener); 80 is ours too, but on `::` (the API).
  assert.deepEqual(
    held.map((s) => [s.port, s.address]),
    [
      [22, '0.0.0.0'],
      [80, '::'],
    ],
  );
});

test('an owner is named by its program, as the operator knows it', () => {
  assert.equal(commandName('sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups', 'sshd'), 'sshd');
  assert.equal(commandName('/usr/local/bin/node', 'MainThread'), 'node');
  assert.equal(commandName('nginx: master process /usr/sbin/nginx', 'nginx'), 'nginx');
  assert.equal(commandName('', 'kworker'), 'kworker');
});

test('a conflict names the port, the address and the owner', () => {
  assert.equal(
    describeConflict({ protocol: 'tcp', port: 22, address: '0.0.0.0', owner: { pid: 10, command: 'sshd' } }),
    'port 22/tcp is held by sshd (pid 10) on 0.0.0.0',
  );
  assert.equal(
    describeConflict({ protocol: 'tcp', port: 80, address: '::', owner: undefined }),
    'port 80/tcp is held by an unknown process on ::',
  );
});

test('this host: a port a process of ours holds on 0.0.0.0 is a conflict named after us', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '0.0.0.0', resolve));
  try {
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    const [conflict] = portConflicts([{ protocol: 'tcp', port: address.port }]);
    assert.equal(conflict?.owner?.pid, process.pid);
    assert.equal(conflict?.owner?.command, 'node');
    assert.equal(conflict?.address, '0.0.0.0');
  } finally {
    server.close();
  }
});

test('this host: a socket we open is found, with this process as its owner', async () => {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  try {
    const address = server.address();
    assert.ok(address && typeof address === 'object');
    assert.deepEqual(portConflicts([{ protocol: 'tcp', port: address.port }]), [], 'our loopback listener');
    const socket = readListeningSockets().find((s) => s.protocol === 'tcp' && s.port === address.port);
    assert.ok(socket, `port ${address.port} is listed`);
    assert.equal(socket.address, '127.0.0.1');
    const owner = socketOwners(new Set([socket.inode])).get(socket.inode);
    assert.equal(owner?.pid, process.pid);
  } finally {
    server.close();
  }
});
