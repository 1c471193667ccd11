// The suite of the READMEs' tests (readmes-*.slow.test.ts, split in two so that each file
// stays under the slow suite's 10-minute limit per file): each README's commands run as
// written (see readme.ts) against the `petset up` they start, with the real kubectl on PATH.
// A README passes when every command succeeds except those it marks `# fails:`, and the
// output shows what its comments promise. PETSET_README_EXAMPLES=redis,etcd runs only those.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import { describe, it } from 'node:test';
import { podNetworkUnavailable } from '../../../src/agent/podnet/pod-network.js';
import { processRuntimeUnavailable } from '../../../src/agent/runtime/process/runtime.js';
import { runReadme } from './readme.js';

const base = processRuntimeUnavailable() ?? (await podNetworkUnavailable());
if (base) console.log(`# skipping the READMEs: ${base}`);

interface Case {
  /** programs the example needs */
  needs: string[];
  /** what the output must show, in the README's words */
  shows: RegExp[];
  minutes: number;
  before?(): void;
}

const kubiaDirs = () => ['/tmp/pv-a', '/tmp/pv-b', '/tmp/pv-c'].forEach((d) => fs.rmSync(d, { recursive: true, force: true }));

export const CASES: Record<string, Case> = {
  redis: {
    needs: ['/usr/bin/redis-server'],
    minutes: 5,
    shows: [/role:slave/, /master_link_status:up/, /^hello\n/m, /READONLY/, /^hello\s*$/m],
  },
  etcd: {
    needs: ['/usr/bin/etcd'],
    minutes: 5,
    shows: [/started, etcd-0, /, /started, etcd-1, /, /started, etcd-2, /, /^greeting\nhello$/m],
  },
  postgres: {
    needs: ['/usr/bin/pg_basebackup'],
    minutes: 6,
    shows: [/streaming \| pg-0\.pg/, /cannot execute INSERT in a read-only transaction/, /^ hello\n meanwhile\n/m],
  },
  kubia: {
    needs: [],
    minutes: 6,
    before: kubiaDirs,
    shows: [/You've hit kubia-1\nData stored on this pod: No data posted yet/, /Data stored on pod kubia-0/, /You've hit kubia-0\nData stored on this pod: Hey there! This greeting was submitted to kubia-0\./, /IN\s+SRV\s+0 50 80 kubia-[01]\.kubia\.default\.svc\.cluster\.local\./],
  },
  patterns: {
    needs: ['/usr/bin/jq'],
    minutes: 8,
    shows: [/^raw-0\.raw\.default\.svc\.cluster\.local$/m, /multi-2\.multi\.default\.svc\.cluster\.local first started/, /schema is at v2: nothing to migrate/, /migration to v3 on app-0/, /^pet-1$/m],
  },
  mysql: {
    needs: ['/usr/sbin/mariadbd', '/usr/bin/mariadb-backup', '/usr/bin/socat'],
    minutes: 10,
    shows: [/completed OK!/, /Master_Host: mysql-0\.mysql/, /Slave_IO_Running: Yes/, /^message\nhello$/m],
  },
  galera: {
    needs: ['/usr/sbin/mariadbd', '/usr/lib/galera/libgalera_smm.so', '/usr/bin/rsync', '/usr/bin/socat'],
    minutes: 12,
    shows: [/wsrep_cluster_size\s+3/, /written on galera-2/],
  },
  rabbitmq: {
    needs: ['/usr/lib/rabbitmq/bin/rabbitmq-server'],
    minutes: 12,
    shows: [/rabbit@rabbitmq-0\.rabbitmq\.default\.svc\.cluster\.local/, /^petset$/m],
  },
  wordpress: {
    needs: ['/usr/share/wordpress/wp-settings.php', '/usr/sbin/mariadbd'],
    minutes: 10,
    shows: [/install\.php/, /famous five-minute WordPress installation/, /WordPress has been installed/, /<title>Pets of petset<\/title>/, /^Pets of petset$/m],
  },
  zookeeper: {
    needs: ['/usr/share/java/zookeeper.jar'],
    minutes: 15,
    shows: [/Mode: leader/, /Mode: follower/, /^world$/m, /still-serving/, /^datadir-zk-1$/m, /Invalid initial heap size/],
  },
};

/** One test per named README, one after the other. */
export function readmeSuite(title: string, names: string[]): void {
  const only = process.env.PETSET_README_EXAMPLES?.split(',').filter(Boolean);
  describe(title, { skip: base, timeout: 60 * 60_000 }, () => {
    for (const name of names) {
      const c = CASES[name];
      if (only && !only.includes(name)) continue;
      const missing = c.needs.find((p) => !fs.existsSync(p));
      it(`examples/${name}/README.md`, { skip: missing && `${missing} is not installed`, timeout: c.minutes * 60_000 + 120_000 }, async () => {
        c.before?.();
        try {
          const run = await runReadme(name, c.minutes * 60_000);
          const report = `${run.output.slice(-6000)}`;
          assert.ok(run.finished, `the README did not finish in ${c.minutes} min:\n${report}`);
          const unexpected = run.failures.filter((f) => !f.marked);
          // the failed commands first: a CI log keeps only the start of a long message
          const failed = unexpected.map((f) => `${f.command} → exit ${f.status}`);
          assert.deepEqual(failed, [], `commands failed: ${failed.join('; ')}\n${report}`);
          for (const re of c.shows) assert.match(run.output, re, `the README's output shows ${re}`);
          assert.deepEqual(run.leftovers, [], 'no process of the README\'s pods outlives its petset up stopped by SIGTERM');
        } finally {
          c.before?.();
        }
      });
    }
  });
}
