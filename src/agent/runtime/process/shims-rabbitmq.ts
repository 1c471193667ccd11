// The rabbitmq image on Debian's rabbitmq-server: docker-entrypoint.sh honours the official
// image's contract (RABBITMQ_ERLANG_COOKIE written to the data dir's .erlang.cookie,
// RABBITMQ_DEFAULT_USER/PASS/VHOST read by the server itself, config in /etc/rabbitmq
// (rabbitmq.conf, enabled_plugins) or the image's defaults — guest allowed from anywhere,
// AMQP on 5672 — data in /var/lib/rabbitmq, logs on stdout), then runs the real server
// script (Debian's /usr/sbin wrapper would redirect to /var/log) as the rabbitmq user. The
// CLI tools in PATH (rabbitmqctl, rabbitmq-diagnostics, rabbitmq-plugins) run as that user
// with the data dir as HOME, so `kubectl exec rabbitmq-0 -- rabbitmqctl cluster_status`
// finds the cookie, as in the official image. Erlang distribution binds every address of the
// pod and keys nodes by name on the pod's own epmd, so a cluster needs the root pod network
// (a network namespace per pod); on the shared host network only one member per node works.

const ENTRYPOINT = `#!/bin/sh
# petset: docker-entrypoint.sh of the rabbitmq image on Debian's RabbitMQ
set -e
case "$1" in -*) set -- rabbitmq-server "$@" ;; esac
[ "$1" = rabbitmq-server ] || exec "$@"
shift
export HOME=/var/lib/rabbitmq LANG="\${LANG:-C.UTF-8}"
export RABBITMQ_MNESIA_BASE="\${RABBITMQ_MNESIA_BASE:-/var/lib/rabbitmq/mnesia}"
export RABBITMQ_LOGS="\${RABBITMQ_LOGS:--}" RABBITMQ_LOG_BASE="\${RABBITMQ_LOG_BASE:-/tmp}"
mkdir -p /var/lib/rabbitmq
if [ -n "$RABBITMQ_ERLANG_COOKIE" ]; then
  umask 077
  printf '%s' "$RABBITMQ_ERLANG_COOKIE" > /var/lib/rabbitmq/.erlang.cookie
  chmod 400 /var/lib/rabbitmq/.erlang.cookie
  unset RABBITMQ_ERLANG_COOKIE
  umask 022
fi
D=/tmp/.petset-rabbitmq
mkdir -p "$D"
if [ -f /etc/rabbitmq/rabbitmq.conf ]; then
  export RABBITMQ_CONFIG_FILE=/etc/rabbitmq/rabbitmq
else
  printf 'loopback_users.guest = false\\nlisteners.tcp.default = 5672\\n' > "$D/rabbitmq.conf"
  export RABBITMQ_CONFIG_FILE="$D/rabbitmq"
fi
if [ -f /etc/rabbitmq/enabled_plugins ]; then
  export RABBITMQ_ENABLED_PLUGINS_FILE=/etc/rabbitmq/enabled_plugins
else
  echo '[].' > "$D/enabled_plugins"
  export RABBITMQ_ENABLED_PLUGINS_FILE="$D/enabled_plugins"
fi
cd /var/lib/rabbitmq
if [ "$(id -u)" = 0 ]; then
  chown -R rabbitmq:rabbitmq /var/lib/rabbitmq "$D"
  exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
fi
exec /usr/lib/rabbitmq/bin/rabbitmq-server "$@"
`;

/** rabbitmqctl and friends: the real scripts, as the rabbitmq user, with the data dir's cookie. */
const CLI = `#!/bin/sh
# petset: the RabbitMQ CLI as the official image has it in PATH
export HOME=/var/lib/rabbitmq LANG="\${LANG:-C.UTF-8}"
# the server wrote the cookie to the data dir; the variable only draws a deprecation warning
[ -f /var/lib/rabbitmq/.erlang.cookie ] && unset RABBITMQ_ERLANG_COOKIE
[ -f /etc/rabbitmq/enabled_plugins ] && export RABBITMQ_ENABLED_PLUGINS_FILE=/etc/rabbitmq/enabled_plugins
[ -f /etc/rabbitmq/enabled_plugins ] || [ ! -f /tmp/.petset-rabbitmq/enabled_plugins ] || export RABBITMQ_ENABLED_PLUGINS_FILE=/tmp/.petset-rabbitmq/enabled_plugins
tool="$(basename "$0")"
cd /var/lib/rabbitmq 2>/dev/null || true
if [ "$(id -u)" = 0 ]; then exec setpriv --reuid=rabbitmq --regid=rabbitmq --init-groups -- "/usr/lib/rabbitmq/bin/$tool" "$@"; fi
exec "/usr/lib/rabbitmq/bin/$tool" "$@"
`;

/** Shim files, relative to the shim directory. */
export const RABBITMQ_SHIM_FILES: Record<string, { content: string; mode: number }> = {
  'rabbitmq/docker-entrypoint.sh': { content: ENTRYPOINT, mode: 0o755 },
  'rabbitmq/bin/rabbitmqctl': { content: CLI, mode: 0o755 },
  'rabbitmq/bin/rabbitmq-diagnostics': { content: CLI, mode: 0o755 },
  'rabbitmq/bin/rabbitmq-plugins': { content: CLI, mode: 0o755 },
  'rabbitmq/bin/rabbitmq-queues': { content: CLI, mode: 0o755 },
};
