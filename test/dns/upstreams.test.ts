// Where the cluster DNS forwards names outside cluster.local by default: the host's resolvers
// from resolv.conf, the loopback ones only (petset sends nothing off the machine unless told).
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { loopbackResolvers, parseUpstream } from '../../src/dns/server.js';

test("the host's loopback resolvers are the default upstreams; others need --dns-upstream", () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-resolv-'));
  try {
    const file = path.join(dir, 'resolv.conf');
    fs.writeFileSync(file, '# systemd-resolved\nnameserver 127.0.0.53\nnameserver 10.255.255.53\nnameserver ::1\nsearch corp.example\n');
    assert.deepEqual(loopbackResolvers(file), [{ host: '127.0.0.53', port: 53 }, { host: '::1', port: 53 }]);
    fs.writeFileSync(file, 'nameserver 10.255.255.53\n');
    assert.deepEqual(loopbackResolvers(file), [], 'an off-machine resolver is never taken on its own');
    assert.deepEqual(loopbackResolvers(path.join(dir, 'absent')), []);
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
  assert.deepEqual(parseUpstream('127.0.0.1:5353'), { host: '127.0.0.1', port: 5353 });
  assert.deepEqual(parseUpstream('[::1]:5353'), { host: '::1', port: 5353 });
  assert.deepEqual(parseUpstream('10.0.0.2'), { host: '10.0.0.2', port: 53 });
});
