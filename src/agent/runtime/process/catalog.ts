// The host-program image catalog: image names users write every day, mapped to programs
// installed on this machine (Debian packages) plus an entrypoint shim (./shims.ts) that
// honours the official image's environment contract. An image that is in no entry is
// refused with ErrImagePull and a message that says what was tried and how to fix it.
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import { SHIM_MOUNT } from './shims.js';

export interface CatalogEntry {
  /** repositories this entry stands for, normalized (no docker.io/, library/, tag or digest) */
  images: string[];
  /** the Debian package that provides the program */
  package: string;
  /** a file that must exist on the host for the entry to be usable */
  program: string;
  /** the image's ENTRYPOINT and CMD (paths inside the sandbox) */
  entrypoint: string[];
  cmd: string[];
  /** the image's ENV */
  env?: Record<string, string>;
  workingDir?: string;
  /** the image's VOLUME for its data: kept on disk per container when no volume is mounted there */
  dataPath?: string;
  /** a volume mounted at a path containing this word may stand in for dataPath (see the runtime) */
  dataHint?: string;
  /** sandbox path → shim-relative file bound read-only over it */
  binds?: Record<string, string>;
  /** command[0] rewrites: what the image has at a path the host has elsewhere */
  aliases?: Record<string, string>;
  /** put busybox's applets first in PATH (the busybox image) */
  busybox?: boolean;
}

const S = SHIM_MOUNT;

export const BUILTIN_CATALOG: CatalogEntry[] = [
  {
    images: ['mysql', 'mariadb', 'bitnami/mysql', 'bitnami/mariadb'],
    package: 'mariadb-server',
    program: '/usr/sbin/mariadbd',
    entrypoint: [`${S}/mysql-entrypoint.sh`],
    cmd: ['mariadbd'],
    dataPath: '/var/lib/mysql',
    dataHint: 'mysql',
    aliases: { '/usr/local/bin/docker-entrypoint.sh': `${S}/mysql-entrypoint.sh`, 'docker-entrypoint.sh': `${S}/mysql-entrypoint.sh` },
  },
  {
    images: ['postgres', 'bitnami/postgresql'],
    package: 'postgresql',
    program: '/usr/bin/pg_isready',
    entrypoint: [`${S}/postgres-entrypoint.sh`],
    cmd: ['postgres'],
    env: { PGDATA: '/var/lib/postgresql/data', LANG: 'C.UTF-8' },
    dataPath: '/var/lib/postgresql/data',
    dataHint: 'postgres',
    aliases: { '/usr/local/bin/docker-entrypoint.sh': `${S}/postgres-entrypoint.sh`, 'docker-entrypoint.sh': `${S}/postgres-entrypoint.sh` },
  },
  {
    images: ['redis', 'bitnami/redis'],
    package: 'redis-server',
    program: '/usr/bin/redis-server',
    entrypoint: [`${S}/redis-entrypoint.sh`],
    cmd: ['redis-server'],
    workingDir: '/data',
    dataPath: '/data',
    aliases: { '/usr/local/bin/redis-server': '/usr/bin/redis-server', 'docker-entrypoint.sh': `${S}/redis-entrypoint.sh` },
  },
  {
    images: ['nginx', 'nginxinc/nginx-unprivileged', 'bitnami/nginx'],
    package: 'nginx',
    program: '/usr/sbin/nginx',
    entrypoint: [`${S}/nginx-entrypoint.sh`],
    cmd: ['nginx', '-g', 'daemon off;'],
    binds: { '/etc/nginx/nginx.conf': 'nginx/nginx.conf', '/etc/nginx/conf.d': 'nginx/conf.d' },
    aliases: { '/docker-entrypoint.sh': `${S}/nginx-entrypoint.sh` },
  },
  {
    images: ['busybox'],
    package: 'busybox-static',
    program: '/usr/bin/busybox',
    entrypoint: [],
    cmd: ['sh'],
    busybox: true,
  },
  {
    images: ['quay.io/coreos/etcd', 'registry.k8s.io/etcd', 'k8s.gcr.io/etcd', 'gcr.io/etcd-development/etcd'],
    package: 'etcd-server',
    program: '/usr/bin/etcd',
    entrypoint: [],
    cmd: ['etcd'],
    aliases: { '/usr/local/bin/etcd': '/usr/bin/etcd', '/usr/local/bin/etcdctl': '/usr/bin/etcdctl' },
  },
  {
    images: ['bitnami/etcd'],
    package: 'etcd-server',
    program: '/usr/bin/etcd',
    entrypoint: [],
    cmd: [`${S}/bitnami-etcd-run.sh`],
    dataPath: '/bitnami/etcd',
    aliases: { '/opt/bitnami/scripts/etcd/run.sh': `${S}/bitnami-etcd-run.sh`, '/opt/bitnami/etcd/bin/etcd': '/usr/bin/etcd' },
  },
  {
    images: ['node'],
    package: 'nodejs',
    program: '/usr/bin/node',
    entrypoint: [],
    cmd: ['node'],
    aliases: { '/usr/local/bin/node': '/usr/bin/node' },
  },
  {
    images: ['python'],
    package: 'python3',
    program: '/usr/bin/python3',
    entrypoint: [],
    cmd: ['python3'],
    aliases: { python: '/usr/bin/python3', '/usr/local/bin/python': '/usr/bin/python3', '/usr/local/bin/python3': '/usr/bin/python3' },
  },
  {
    images: ['tutum/dnsutils', 'registry.k8s.io/e2e-test-images/jessie-dnsutils'],
    package: 'bind9-dnsutils',
    program: '/usr/bin/dig',
    entrypoint: [],
    cmd: ['sleep', 'infinity'],
  },
  {
    images: ['luksa/kubia-pet'],
    package: 'nodejs',
    program: '/usr/bin/node',
    entrypoint: [`${S}/kubia`],
    cmd: [],
  },
  {
    images: ['luksa/kubia-pet-peers'],
    package: 'nodejs',
    program: '/usr/bin/node',
    entrypoint: [`${S}/kubia`, 'peers'],
    cmd: [],
  },
  {
    images: ['registry.k8s.io/e2e-test-images/agnhost', 'k8s.gcr.io/e2e-test-images/agnhost', 'registry.k8s.io/pause', 'k8s.gcr.io/pause'],
    package: 'nodejs',
    program: '/usr/bin/node',
    entrypoint: [`${S}/agnhost`],
    cmd: ['pause'],
    aliases: { '/agnhost': `${S}/agnhost`, agnhost: `${S}/agnhost`, '/pause': `${S}/agnhost` },
  },
  {
    // Kubernetes' ZooKeeper tutorial image: start-zookeeper, zookeeper-ready, zkCli.sh (./shims-zookeeper.ts)
    images: ['registry.k8s.io/kubernetes-zookeeper', 'k8s.gcr.io/kubernetes-zookeeper', 'gcr.io/google_containers/kubernetes-zookeeper'],
    package: 'zookeeper',
    program: '/usr/share/java/zookeeper.jar',
    entrypoint: [],
    cmd: [`${S}/zookeeper/bin/start-zookeeper`],
    env: { PATH: `${S}/zookeeper/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin` },
  },
  {
    // the official zookeeper image on Debian's zookeeper: its docker-entrypoint.sh contract and zkServer.sh start-foreground (./shims-zookeeper.ts)
    images: ['zookeeper'],
    package: 'zookeeper',
    program: '/usr/share/java/zookeeper.jar',
    entrypoint: ['/docker-entrypoint.sh'],
    cmd: ['zkServer.sh', 'start-foreground'],
    env: {
      PATH: `${S}/zookeeper-official/bin:${S}/zookeeper/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`,
      ZOO_CONF_DIR: '/conf',
      ZOO_DATA_DIR: '/data',
      ZOO_DATA_LOG_DIR: '/datalog',
      ZOO_LOG_DIR: '/logs',
      ZOO_TICK_TIME: '2000',
      ZOO_INIT_LIMIT: '5',
      ZOO_SYNC_LIMIT: '2',
      ZOO_AUTOPURGE_PURGEINTERVAL: '0',
      ZOO_AUTOPURGE_SNAPRETAINCOUNT: '3',
      ZOO_MAX_CLIENT_CNXNS: '60',
      ZOO_STANDALONE_ENABLED: 'true',
      ZOO_ADMINSERVER_ENABLED: 'true',
    },
    dataPath: '/data',
    binds: { '/docker-entrypoint.sh': 'zookeeper-official/docker-entrypoint.sh' },
    aliases: { 'docker-entrypoint.sh': `${S}/zookeeper-official/docker-entrypoint.sh` },
  },
  {
    // the wordpress image on Debian's wordpress package and PHP's built-in server (./shims-wordpress.ts)
    images: ['wordpress'],
    package: 'wordpress',
    program: '/usr/share/wordpress/wp-settings.php',
    entrypoint: [`${S}/wordpress/docker-entrypoint.sh`],
    cmd: ['apache2-foreground'],
    workingDir: '/usr/share/wordpress',
    binds: { '/etc/wordpress': 'wordpress/etc' },
    aliases: { 'docker-entrypoint.sh': `${S}/wordpress/docker-entrypoint.sh`, '/usr/local/bin/docker-entrypoint.sh': `${S}/wordpress/docker-entrypoint.sh` },
  },
  {
    // the rabbitmq image on Debian's rabbitmq-server (./shims-rabbitmq.ts)
    images: ['rabbitmq'],
    package: 'rabbitmq-server',
    program: '/usr/lib/rabbitmq/bin/rabbitmq-server',
    entrypoint: [`${S}/rabbitmq/docker-entrypoint.sh`],
    cmd: ['rabbitmq-server'],
    env: { PATH: `${S}/rabbitmq/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin`, HOME: '/var/lib/rabbitmq', LANG: 'C.UTF-8' },
    dataPath: '/var/lib/rabbitmq',
    dataHint: 'rabbitmq',
    aliases: { 'docker-entrypoint.sh': `${S}/rabbitmq/docker-entrypoint.sh`, '/usr/local/bin/docker-entrypoint.sh': `${S}/rabbitmq/docker-entrypoint.sh` },
  },
];

/** docker.io/library/mysql:8.0@sha256:... → mysql; quay.io/coreos/etcd:v3.5 → quay.io/coreos/etcd. */
export function normalizeImage(image: string): string {
  let ref = image.trim().replace(/@sha256:[0-9a-f]+$/, '');
  const slash = ref.lastIndexOf('/');
  const colon = ref.lastIndexOf(':');
  if (colon > slash) ref = ref.slice(0, colon);
  ref = ref.replace(/^(docker\.io|index\.docker\.io|registry-1\.docker\.io)\//, '');
  ref = ref.replace(/^library\//, '');
  return ref.toLowerCase();
}

/** An Error that the agent shows as the container's waiting reason. */
export class ImagePullError extends Error {
  readonly reason = 'ErrImagePull';
}

export interface Resolved {
  entry: CatalogEntry;
  /** containerStatuses[].imageID */
  imageID: string;
}

export class ImageCatalog {
  readonly entries: CatalogEntry[];
  private readonly versions = new Map<string, string>();

  constructor(extra: CatalogEntry[] = []) {
    // the user's entries win over the built-in ones
    this.entries = [...extra, ...BUILTIN_CATALOG];
  }

  /** Reads a catalog file: a JSON array of entries (or { "images": [...] }). */
  static fromFile(file: string): CatalogEntry[] {
    const parsed = JSON.parse(fs.readFileSync(file, 'utf8'));
    const list: unknown[] = Array.isArray(parsed) ? parsed : parsed?.images;
    if (!Array.isArray(list)) throw new Error(`${file}: expected a JSON array of catalog entries`);
    return list.map((e, i) => {
      const x = e as Partial<CatalogEntry>;
      if (!Array.isArray(x.images) || !x.images.length || typeof x.program !== 'string') {
        throw new Error(`${file}: entry ${i} needs "images" (a non-empty list of image names) and "program" (a host path)`);
      }
      return { package: '', entrypoint: [], cmd: [], ...x, images: x.images.map(normalizeImage) } as CatalogEntry;
    });
  }

  /** The entry for an image, or ImagePullError saying what was tried. */
  /** Whether an entry names the image (installed or not). */
  has(image: string): boolean {
    const name = normalizeImage(image);
    return this.entries.some((e) => e.images.includes(name));
  }

  resolve(image: string): Resolved {
    const name = normalizeImage(image);
    const entry = this.entries.find((e) => e.images.includes(name));
    if (!entry) {
      throw new ImagePullError(
        `Failed to pull image "${image}": petset's process runtime found no host-program catalog entry for "${name}", and pulls images only from registries on this machine (e.g. localhost:5000/${name}). ` +
          `Fix: use an image of the catalog (${[...new Set(this.entries.flatMap((e) => e.images))].slice(0, 12).join(', ')}, ...), ` +
          `push the image to a registry on loopback, add an entry with petset up --image-catalog FILE, or run this node with --runtime sim`,
      );
    }
    if (!fs.existsSync(entry.program)) {
      throw new ImagePullError(
        `Failed to pull image "${image}": the catalog maps it to ${entry.program}${entry.package ? ` from the Debian package ${entry.package}` : ''}, which is not installed on this machine. ` +
          `Fix: ${entry.package ? `apt-get install -y ${entry.package}` : `install ${entry.program}`}`,
      );
    }
    return { entry, imageID: `petset-host://${entry.package || entry.program}@${this.version(entry)}` };
  }

  private version(entry: CatalogEntry): string {
    const key = entry.package || entry.program;
    let v = this.versions.get(key);
    if (v === undefined) {
      v = 'unknown';
      if (entry.package) {
        const r = spawnSync('dpkg-query', ['-W', '-f', '${Version}', entry.package], { encoding: 'utf8' });
        if (r.status === 0 && r.stdout.trim()) v = r.stdout.trim();
      }
      this.versions.set(key, v);
    }
    return v;
  }
}
