// Entrypoint shims: small scripts that replay what the official images' entrypoints do
// with their documented environment variables, on the host's Debian programs. They are
// written to the runtime's state directory and mounted read-only at /.petset in every
// sandbox. Pods share the host network on their loopback pod IPs until pod network
// namespaces land, so servers bind PETSET_POD_IP (set by the runtime) rather than 0.0.0.0.

import { WORDPRESS_SHIM_FILES } from './shims-wordpress.js';
import { ZOOKEEPER_OFFICIAL_SHIM_FILES, ZOOKEEPER_SHIM_FILES } from './shims-zookeeper.js';
import { RABBITMQ_SHIM_FILES } from './shims-rabbitmq.js';

export const SHIM_MOUNT = '/.petset';

/** Raw script text; "$\{" stands for "$" + "{" (a template literal cannot hold the pair). */
function sh(strings: TemplateStringsArray): string {
  return strings.raw.join('').replace(/\$\\\{/g, '$' + '{');
}

const MYSQL = sh`#!/bin/sh
# petset: the mysql/mariadb images' docker-entrypoint.sh contract on Debian's MariaDB
set -e
if [ "$(printf %s "$1" | cut -c1)" = "-" ]; then set -- mariadbd "$@"; fi
case "$1" in mysqld|mariadbd) shift ;; *) exec "$@" ;; esac
DATADIR="$\{PETSET_DATADIR:-/var/lib/mysql}"
SOCKET=/run/mysqld/mysqld.sock
mkdir -p /run/mysqld "$DATADIR"
chown mysql:mysql /run/mysqld
chown mysql:mysql "$DATADIR" 2>/dev/null || true
PW="$\{MYSQL_ROOT_PASSWORD:-$MARIADB_ROOT_PASSWORD}"
DB="$\{MYSQL_DATABASE:-$MARIADB_DATABASE}"
USER_="$\{MYSQL_USER:-$MARIADB_USER}"
UPW="$\{MYSQL_PASSWORD:-$MARIADB_PASSWORD}"
q() { printf %s "$1" | sed "s/'/''/g"; }
if [ ! -d "$DATADIR/mysql" ]; then
  if [ -z "$PW" ] && [ -z "$MYSQL_ALLOW_EMPTY_PASSWORD$MARIADB_ALLOW_EMPTY_ROOT_PASSWORD$MYSQL_RANDOM_ROOT_PASSWORD$MARIADB_RANDOM_ROOT_PASSWORD" ]; then
    echo "petset: warning: database is uninitialized and password option is not specified (MYSQL_ROOT_PASSWORD, MYSQL_ALLOW_EMPTY_PASSWORD or MYSQL_RANDOM_ROOT_PASSWORD); the official image would stop here, petset continues with an empty root password" >&2
  fi
  if [ -n "$MYSQL_RANDOM_ROOT_PASSWORD$MARIADB_RANDOM_ROOT_PASSWORD" ] && [ -z "$PW" ]; then
    PW="$(head -c 18 /dev/urandom | base64)"; echo "GENERATED ROOT PASSWORD: $PW"
  fi
  echo "Initializing database files in $DATADIR"
  mariadb-install-db --user=mysql --datadir="$DATADIR" --skip-test-db --auth-root-authentication-method=normal >/dev/null
  mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --skip-networking --skip-name-resolve >/tmp/.init-mysqld.log 2>&1 &
  TMP=$!
  i=0; until mysqladmin --socket="$SOCKET" ping >/dev/null 2>&1; do i=$((i+1)); [ $i -lt 300 ] || { cat /tmp/.init-mysqld.log >&2; exit 1; }; sleep 0.1; done
  {
    echo "SET @@SESSION.SQL_LOG_BIN=0;"
    # as the official image: root only at localhost (and % below); install-db also made root@127.0.0.1, ::1 and the hostname
    echo "DROP USER IF EXISTS ''@'localhost', ''@'$(hostname)', 'root'@'127.0.0.1', 'root'@'::1', 'root'@'$(hostname)';"
    echo "CREATE USER IF NOT EXISTS 'root'@'%' IDENTIFIED BY '$(q "$PW")'; GRANT ALL ON *.* TO 'root'@'%' WITH GRANT OPTION;"
    if [ -n "$DB" ]; then echo "CREATE DATABASE IF NOT EXISTS \`$DB\`;"; fi
    if [ -n "$USER_" ] && [ -n "$UPW" ]; then
      echo "CREATE USER '$(q "$USER_")'@'%' IDENTIFIED BY '$(q "$UPW")';"
      if [ -n "$DB" ]; then echo "GRANT ALL ON \`$DB\`.* TO '$(q "$USER_")'@'%';"; fi
    fi
    echo "ALTER USER 'root'@'localhost' IDENTIFIED BY '$(q "$PW")'; FLUSH PRIVILEGES;"
  } | mysql --socket="$SOCKET" -uroot
  if [ -d /docker-entrypoint-initdb.d ]; then
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) echo "running $f"; . "$f" ;;
        *.sql) echo "running $f"; mysql --socket="$SOCKET" -uroot -p"$PW" $\{DB:+"$DB"} < "$f" ;;
        *.sql.gz) echo "running $f"; gunzip -c "$f" | mysql --socket="$SOCKET" -uroot -p"$PW" $\{DB:+"$DB"} ;;
      esac
    done
  fi
  kill "$TMP"; wait "$TMP" || true
  echo "MariaDB init process done. Ready for start up."
fi
exec mariadbd --user=mysql --datadir="$DATADIR" --socket="$SOCKET" --bind-address="$\{PETSET_POD_IP:-0.0.0.0}" --skip-name-resolve "$@"
`;

const POSTGRES = sh`#!/bin/sh
# petset: the postgres image's docker-entrypoint.sh contract on Debian's PostgreSQL
set -e
if [ "$(printf %s "$1" | cut -c1)" = "-" ]; then set -- postgres "$@"; fi
[ "$1" = postgres ] || exec "$@"
shift
B="$(ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1)"
export PGDATA="$\{PGDATA:-/var/lib/postgresql/data}"
if [ "$(id -u)" = 0 ]; then
  mkdir -p "$PGDATA" /run/postgresql
  chown postgres:postgres "$PGDATA" /run/postgresql 2>/dev/null || true
  chmod 700 "$PGDATA" 2>/dev/null || true
  chmod 2777 /run/postgresql
  exec setpriv --reuid=postgres --regid=postgres --init-groups -- "$0" postgres "$@"
fi
PUSER="$\{POSTGRES_USER:-postgres}"
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  if [ -z "$POSTGRES_PASSWORD" ] && [ "$POSTGRES_HOST_AUTH_METHOD" != trust ]; then
    echo "Error: Database is uninitialized and superuser password is not specified." >&2
    echo "       You must specify POSTGRES_PASSWORD to a non-empty value for the superuser." >&2
    exit 1
  fi
  printf '%s\n' "$POSTGRES_PASSWORD" > /tmp/.pwfile
  "$B/initdb" -D "$PGDATA" --username="$PUSER" --pwfile=/tmp/.pwfile --auth-local=trust $POSTGRES_INITDB_ARGS
  rm -f /tmp/.pwfile
  echo "host all all all $\{POSTGRES_HOST_AUTH_METHOD:-scram-sha-256}" >> "$PGDATA/pg_hba.conf"
  "$B/pg_ctl" -D "$PGDATA" -o "-c listen_addresses='' -c unix_socket_directories=/run/postgresql" -w start
  DB="$\{POSTGRES_DB:-$PUSER}"
  if [ "$DB" != postgres ]; then psql -v ON_ERROR_STOP=1 -h /run/postgresql --username "$PUSER" --dbname postgres -c "CREATE DATABASE \"$DB\"" ; fi
  if [ -d /docker-entrypoint-initdb.d ]; then
    for f in /docker-entrypoint-initdb.d/*; do
      case "$f" in
        *.sh) echo "running $f"; . "$f" ;;
        *.sql) echo "running $f"; psql -v ON_ERROR_STOP=1 -h /run/postgresql --username "$PUSER" --dbname "$DB" -f "$f" ;;
      esac
    done
  fi
  "$B/pg_ctl" -D "$PGDATA" -m fast -w stop
  echo "PostgreSQL init process complete; ready for start up."
fi
exec "$B/postgres" -D "$PGDATA" -c listen_addresses="$\{PETSET_POD_IP:-*}" -c unix_socket_directories=/run/postgresql "$@"
`;

const REDIS = sh`#!/bin/sh
# petset: the redis image's docker-entrypoint.sh contract on Debian's Redis
set -e
case "$1" in -*|*.conf) set -- redis-server "$@" ;; esac
[ "$1" = redis-server ] || exec "$@"
shift
EXTRA=""
case " $* " in *" --bind "*) ;; *) EXTRA="--bind $\{PETSET_POD_IP:-0.0.0.0}" ;; esac
case "$1" in *.conf) ;; *) EXTRA="$EXTRA --protected-mode no" ;; esac
if [ "$(id -u)" = 0 ]; then
  chown redis:redis . 2>/dev/null || true
  exec setpriv --reuid=redis --regid=redis --init-groups -- redis-server "$@" $EXTRA
fi
exec redis-server "$@" $EXTRA
`;

const NGINX = sh`#!/bin/sh
# petset: the nginx image's contract (config in /etc/nginx, conf.d, /usr/share/nginx/html) on
# Debian's nginx; "listen PORT" is bound to the pod's address on the shared host network
set -e
[ "$1" = nginx ] || [ "$1" = nginx-debug ] || exec "$@"
shift
C=/tmp/.petset-nginx
rm -rf "$C"; mkdir -p "$C" /var/log/nginx /var/cache/nginx /var/lib/nginx
cp -rL /etc/nginx/. "$C/"
if [ -n "$PETSET_POD_IP" ]; then
  find "$C" -name '*.conf' -type f | while read -r f; do
    sed -i -E "s#^([[:space:]]*listen[[:space:]]+)([0-9]+)#\1$PETSET_POD_IP:\2#; s#^([[:space:]]*listen[[:space:]]+)\[::\]:[0-9]+[^;]*;#\1$PETSET_POD_IP:65535 ;#; s#/etc/nginx/#$C/#g" "$f"
    sed -i -E "/listen[[:space:]]+$PETSET_POD_IP:65535 ;/d" "$f"
  done
fi
exec nginx -c "$C/nginx.conf" "$@"
`;

const NGINX_CONF = `user www-data;
worker_processes auto;
error_log /dev/stderr notice;
pid /run/nginx.pid;
events { worker_connections 1024; }
http {
    include /etc/nginx/mime.types;
    default_type application/octet-stream;
    access_log /dev/stdout;
    sendfile on;
    keepalive_timeout 65;
    include /etc/nginx/conf.d/*.conf;
}
`;

const NGINX_DEFAULT = `server {
    listen 80;
    server_name localhost;
    location / {
        root /usr/share/nginx/html;
        index index.html index.htm;
    }
    error_page 500 502 503 504 /50x.html;
}
`;

const AGNHOST = sh`#!/usr/bin/node
// petset: the agnhost test image's netexec, serve-hostname and pause subcommands
'use strict';
const http = require('http');
const os = require('os');
const { execFileSync } = require('child_process');
const args = process.argv.slice(2);
const cmd = args[0] || 'pause';
const flag = (name, def) => {
  for (let i = 1; i < args.length; i++) {
    const a = args[i];
    if (a === '--' + name && args[i + 1] !== undefined) return args[i + 1];
    if (a.startsWith('--' + name + '=')) return a.slice(name.length + 3);
  }
  return def;
};
const host = process.env.PETSET_POD_IP || '0.0.0.0';
const stop = () => process.exit(0);
process.on('SIGTERM', stop);
process.on('SIGINT', stop);
if (cmd === 'pause') {
  console.log('Paused');
  setInterval(() => {}, 1 << 30);
} else if (cmd === 'serve-hostname') {
  const port = Number(flag('port', '9376'));
  http.createServer((req, res) => res.end(os.hostname())).listen(port, host, () => console.log('Serving on port ' + port + '.'));
} else if (cmd === 'netexec') {
  const port = Number(flag('http-port', '8080'));
  http.createServer((req, res) => {
    const u = new URL(req.url, 'http://x');
    const q = (k) => u.searchParams.get(k);
    switch (u.pathname) {
      case '/': case '/echo': return res.end(q('msg') ?? 'NOW: ' + new Date().toISOString());
      case '/hostname': return res.end(os.hostname());
      case '/healthz': return res.end('');
      case '/clientip': return res.end(req.socket.remoteAddress + ':' + req.socket.remotePort);
      case '/exit': res.end(''); return setTimeout(() => process.exit(Number(q('code') || 0)), 10);
      case '/shell': {
        let output = '', error = '';
        try { output = execFileSync('/bin/sh', ['-c', q('shellCommand') || q('cmd') || ''], { encoding: 'utf8' }); } catch (e) { output = e.stdout || ''; error = String(e.message); }
        res.setHeader('Content-Type', 'application/json');
        return res.end(JSON.stringify(error ? { output, error } : { output }));
      }
      default: res.statusCode = 404; return res.end('404 page not found');
    }
  }).listen(port, host, () => console.log('Started HTTP server on port ' + port));
} else {
  console.error('petset: agnhost subcommand "' + cmd + '" is not emulated (netexec, serve-hostname, pause are)');
  process.exit(2);
}
`;

const BITNAMI_ETCD = sh`#!/bin/sh
# petset: bitnami/etcd's run script: etcd reads its ETCD_* settings from the environment
set -e
export ETCD_DATA_DIR="$\{ETCD_DATA_DIR:-/bitnami/etcd/data}"
mkdir -p "$ETCD_DATA_DIR"
[ -n "$ETCD_LISTEN_CLIENT_URLS" ] || export ETCD_LISTEN_CLIENT_URLS="http://$\{PETSET_POD_IP:-0.0.0.0}:2379"
[ -n "$ETCD_ADVERTISE_CLIENT_URLS" ] || export ETCD_ADVERTISE_CLIENT_URLS="http://$\{PETSET_POD_IP:-127.0.0.1}:2379"
[ -n "$ETCD_LISTEN_PEER_URLS" ] || export ETCD_LISTEN_PEER_URLS="http://$\{PETSET_POD_IP:-0.0.0.0}:2380"
unset ALLOW_NONE_AUTHENTICATION
exec etcd "$@"
`;

const PTY = sh`# petset: runs a command on a new terminal for kubectl exec -t; fd 3 carries "COLS ROWS" resize lines
import fcntl, os, pty, select, struct, sys, termios
pid, master = pty.fork()
if pid == 0:
    try:
        os.execvp(sys.argv[1], sys.argv[1:])
    except OSError as e:
        sys.stderr.write("exec %s: %s\n" % (sys.argv[1], e.strerror))
        os._exit(127)
fds = [0, master]
try:
    os.fstat(3)
    fds.append(3)
except OSError:
    pass
ctl = b""
while True:
    try:
        ready, _, _ = select.select(fds, [], [])
    except InterruptedError:
        continue
    if master in ready:
        try:
            data = os.read(master, 65536)
        except OSError:
            data = b""
        if not data:
            break
        os.write(1, data)
    # a size before input: the session's first size is in place before the command reads what was typed
    if 3 in ready:
        data = os.read(3, 4096)
        if not data:
            fds.remove(3)
        ctl += data
        while b"\n" in ctl:
            line, ctl = ctl.split(b"\n", 1)
            try:
                cols, rows = [int(x) for x in line.split()]
                fcntl.ioctl(master, termios.TIOCSWINSZ, struct.pack("HHHH", rows, cols, 0, 0))
            except Exception:
                pass
    if 0 in ready:
        data = os.read(0, 65536)
        if data:
            os.write(master, data)
        else:
            fds.remove(0)
_, status = os.waitpid(pid, 0)
sys.exit(os.waitstatus_to_exitcode(status) if status else 0)
`;

const KUBIA = sh`#!/usr/bin/node
// petset: the kubia-pet app of "Kubernetes in Action" (luksa/kubia-pet, luksa/kubia-pet-peers):
// GET answers who it is and the data stored on this pod, POST stores the body in /var/data;
// the -peers variant also finds its peers through the DNS SRV records of the kubia service.
'use strict';
const http = require('http');
const os = require('os');
const fs = require('fs');
const dns = require('dns');
const dataFile = '/var/data/kubia.txt';
const peers = process.argv[2] === 'peers';
const serviceName = 'kubia.default.svc.cluster.local';
const host = process.env.PETSET_POD_IP || '0.0.0.0';
const stored = () => (fs.existsSync(dataFile) ? fs.readFileSync(dataFile, 'utf8') : 'No data posted yet');
function ask(url) {
  return new Promise((resolve) => {
    http.get(url, (res) => {
      let body = '';
      res.on('data', (d) => (body += d));
      res.on('end', () => resolve(body));
    }).on('error', (e) => resolve('Error: ' + e.message));
  });
}
const server = http.createServer((req, res) => {
  if (req.method === 'POST') {
    const file = fs.createWriteStream(dataFile);
    file.on('open', () => {
      req.pipe(file);
      file.on('finish', () => {
        console.log('New data has been received and stored.');
        res.writeHead(200);
        res.end('Data stored on pod ' + os.hostname() + '\n');
      });
    });
    return;
  }
  if (!peers || req.url === '/data') {
    res.writeHead(200);
    res.end(req.url === '/data' ? stored() : "You've hit " + os.hostname() + '\nData stored on this pod: ' + stored() + '\n');
    return;
  }
  res.writeHead(200);
  res.write('You touched ' + os.hostname() + '\nFound peers:\n');
  dns.resolveSrv(serviceName, async (err, addresses) => {
    if (err) {
      res.end('Could not look up DNS SRV records: ' + err + '\n');
      return;
    }
    // as the book's app does: the SRV records name the peers; every pet serves on the app's own port
    for (const a of addresses) res.write('- ' + a.name + ': ' + (await ask('http://' + a.name + ':8080/data')) + '\n');
    res.end();
  });
});
server.listen(8080, host, () => console.log('Kubia server starting...'));
process.on('SIGTERM', () => process.exit(0));
`;

/** Files under the shim directory: path relative to it → content and mode. */
export const SHIM_FILES: Record<string, { content: string; mode: number }> = {
  'mysql-entrypoint.sh': { content: MYSQL, mode: 0o755 },
  'postgres-entrypoint.sh': { content: POSTGRES, mode: 0o755 },
  'redis-entrypoint.sh': { content: REDIS, mode: 0o755 },
  'nginx-entrypoint.sh': { content: NGINX, mode: 0o755 },
  'nginx/nginx.conf': { content: NGINX_CONF, mode: 0o644 },
  'nginx/conf.d/default.conf': { content: NGINX_DEFAULT, mode: 0o644 },
  'agnhost': { content: AGNHOST, mode: 0o755 },
  'kubia': { content: KUBIA, mode: 0o755 },
  'bitnami-etcd-run.sh': { content: BITNAMI_ETCD, mode: 0o755 },
  'petset-tty.py': { content: PTY, mode: 0o644 },
  ...ZOOKEEPER_SHIM_FILES,
  ...ZOOKEEPER_OFFICIAL_SHIM_FILES,
  ...WORDPRESS_SHIM_FILES,
  ...RABBITMQ_SHIM_FILES,
};
