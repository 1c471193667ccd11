// The data directory's credentials: made once, reused, and never a key beside a certificate
// it does not belong to (or a certificate of another CA), whichever step a start stopped at.
import assert from 'node:assert/strict';
import { X509Certificate, createPrivateKey } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { ensureCredentials } from '../../src/cli/datadir.js';

const FILES = ['ca.key', 'ca.crt', 'apiserver.key', 'apiserver.crt', 'apiserver.hosts', 'admin.token', 'admin.key', 'admin.crt', 'node-connection.token', 'sa.key'];

/** Every certificate on disk has its key beside it and is signed by the CA on disk. */
function assertConsistent(dir: string): void {
  const pki = path.join(dir, 'pki');
  const read = (f: string) => fs.readFileSync(path.join(pki, f), 'utf8');
  const ca = new X509Certificate(read('ca.crt'));
  assert.ok(ca.checkPrivateKey(createPrivateKey(read('ca.key'))), 'ca.crt belongs to ca.key');
  for (const name of ['apiserver', 'admin']) {
    const cert = new X509Certificate(read(`${name}.crt`));
    assert.ok(cert.checkPrivateKey(createPrivateKey(read(`${name}.key`))), `${name}.crt belongs to ${name}.key`);
    assert.ok(cert.verify(ca.publicKey), `${name}.crt is signed by ca.crt`);
  }
}

describe('ensureCredentials', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'petset-creds-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('makes every file private on first start and gives the same credentials after', async () => {
    const first = await ensureCredentials(dir, ['127.96.0.1']);
    for (const f of FILES) assert.equal(fs.statSync(path.join(dir, 'pki', f)).mode & 0o777, 0o600, f);
    assert.deepEqual(fs.readdirSync(path.join(dir, 'pki')).sort(), [...FILES].sort(), 'no temporary files are left');
    assertConsistent(dir);
    const again = await ensureCredentials(dir, ['127.96.0.1']);
    assert.deepEqual(again, first);
    assert.equal(fs.readFileSync(path.join(dir, 'pki', 'admin.token'), 'utf8'), first.adminToken);
  });

  it('makes a new serving certificate for other hosts, with the same CA and tokens', async () => {
    const first = await ensureCredentials(dir, ['127.96.0.1']);
    const other = await ensureCredentials(dir, ['10.96.0.1']);
    assert.equal(other.ca.certPem, first.ca.certPem);
    assert.equal(other.adminToken, first.adminToken);
    assert.notEqual(other.serving.keyPem, first.serving.keyPem);
    assert.ok(new X509Certificate(other.serving.certPem).checkIP('10.96.0.1'));
    assertConsistent(dir);
  });

  it('makes every certificate again with a new CA when the CA key is gone', async () => {
    const first = await ensureCredentials(dir);
    fs.rmSync(path.join(dir, 'pki', 'ca.key'));
    const second = await ensureCredentials(dir);
    assert.notEqual(second.ca.certPem, first.ca.certPem);
    assert.notEqual(second.adminCert.certPem, first.adminCert.certPem);
    assert.equal(second.adminToken, first.adminToken);
    assertConsistent(dir);
  });

  // A rename that fails part way (a directory where a file should go) stops the start at that
  // step, as a kill would; the next start must still serve a consistent set.
  for (const blocked of ['ca.crt', 'apiserver.key', 'apiserver.crt', 'apiserver.hosts', 'admin.key', 'admin.crt', 'sa.key']) {
    it(`leaves a consistent set when a start that replaces the CA stops at ${blocked}`, async () => {
      await ensureCredentials(dir);
      const pki = path.join(dir, 'pki');
      fs.rmSync(path.join(pki, 'ca.key'));
      fs.rmSync(path.join(pki, blocked), { force: true });
      fs.mkdirSync(path.join(pki, blocked, 'in-the-way'), { recursive: true });
      await assert.rejects(ensureCredentials(dir));
      fs.rmSync(path.join(pki, blocked), { recursive: true });
      await ensureCredentials(dir);
      assertConsistent(dir);
    });
  }
});
