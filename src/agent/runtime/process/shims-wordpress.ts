// The wordpress image's contract (WORDPRESS_DB_HOST, _USER, _PASSWORD, _NAME, _TABLE_PREFIX;
// port 80) on Debian's wordpress package, served by PHP's built-in web server with several
// workers. Debian's /usr/share/wordpress/wp-config.php includes /etc/wordpress/config-*.php;
// the catalog binds this directory over /etc/wordpress, so config-default.php (which reads
// the environment) serves every host name. The server runs as www-data, keeping only the
// capability to bind port 80; pods share the host network on their pod IPs for now, so it
// binds PETSET_POD_IP.

const CONFIG_DEFAULT = `<?php
/* petset: the wordpress image's environment contract for Debian's wordpress */
$petset_env = function ($name, $default) { $v = getenv($name); return ($v === false || $v === '') ? $default : $v; };
define('DB_NAME', $petset_env('WORDPRESS_DB_NAME', 'wordpress'));
define('DB_USER', $petset_env('WORDPRESS_DB_USER', 'example username'));
define('DB_PASSWORD', $petset_env('WORDPRESS_DB_PASSWORD', 'example password'));
define('DB_HOST', $petset_env('WORDPRESS_DB_HOST', 'mysql'));
define('DB_CHARSET', $petset_env('WORDPRESS_DB_CHARSET', 'utf8mb4'));
define('DB_COLLATE', '');
define('WP_DEBUG', $petset_env('WORDPRESS_DEBUG', '') !== '');
/* the package's content (themes, plugins) is read-only here: no updates, no uploads */
define('WP_CONTENT_DIR', '/usr/share/wordpress/wp-content');
define('DISALLOW_FILE_MODS', true);
$table_prefix = $petset_env('WORDPRESS_TABLE_PREFIX', 'wp_');
`;

const ENTRYPOINT = `#!/bin/sh
# petset: the wordpress image's docker-entrypoint.sh; apache2-foreground (the image's CMD)
# and php-fpm run PHP's built-in server on port 80 over Debian's /usr/share/wordpress
set -e
case "$1" in
  apache2-foreground|php-fpm) ;;
  *) exec "$@" ;;
esac
: "\${WORDPRESS_DB_HOST:?WORDPRESS_DB_HOST is required (the database service, e.g. mysql:3306)}"
export PHP_CLI_SERVER_WORKERS="\${PHP_CLI_SERVER_WORKERS:-4}"
echo "WordPress $(sed -n "s/^\\$wp_version = '\\(.*\\)';/\\1/p" /usr/share/wordpress/wp-includes/version.php) on PHP $(php -r 'echo PHP_VERSION;'), database $WORDPRESS_DB_HOST"
RUN=""
if [ "$(id -u)" = 0 ]; then
  RUN="setpriv --reuid=www-data --regid=www-data --init-groups --inh-caps=+net_bind_service --ambient-caps=+net_bind_service --"
fi
exec $RUN php -d variables_order=EGPCS -S "\${PETSET_POD_IP:-0.0.0.0}:80" -t /usr/share/wordpress
`;

/** Shim files, relative to the shim directory. */
export const WORDPRESS_SHIM_FILES: Record<string, { content: string; mode: number }> = {
  'wordpress/docker-entrypoint.sh': { content: ENTRYPOINT, mode: 0o755 },
  'wordpress/etc/config-default.php': { content: CONFIG_DEFAULT, mode: 0o644 },
  'wordpress/etc/htaccess': { content: '# petset: no Apache here; PHP\'s built-in server serves WordPress\n', mode: 0o644 },
};
