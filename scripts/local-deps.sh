#!/usr/bin/env bash
# Makes sure the local MariaDB and Redis that Hongbao needs are installed, running, and that
# the application's own MariaDB user exists (Debian's root uses unix-socket auth, so the
# services never connect as root). Safe to run any number of times.
set -euo pipefail

need_apt=()
command -v mariadbd >/dev/null 2>&1 || [ -x /usr/sbin/mariadbd ] || need_apt+=(mariadb-server mariadb-client)
command -v redis-server >/dev/null 2>&1 || need_apt+=(redis-server)
if [ ${#need_apt[@]} -gt 0 ]; then
  echo "local-deps: installing ${need_apt[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq "${need_apt[@]}" >/dev/null
fi

if ! mysqladmin --protocol=socket ping >/dev/null 2>&1; then
  echo "local-deps: starting MariaDB"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld 2>/dev/null || true
  start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  for _ in $(seq 1 60); do mysqladmin --protocol=socket ping >/dev/null 2>&1 && break; sleep 0.5; done
fi

if ! redis-cli -p 6379 ping >/dev/null 2>&1; then
  echo "local-deps: starting Redis"
  redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save "" --appendonly no
  for _ in $(seq 1 40); do redis-cli -p 6379 ping >/dev/null 2>&1 && break; sleep 0.25; done
fi

DB_USER=${HONGBAO_DB_USER:-hongbao}
DB_PASS=${HONGBAO_DB_PASSWORD:-hongbao}
mysql --protocol=socket -uroot <<SQL
CREATE USER IF NOT EXISTS '${DB_USER}'@'localhost' IDENTIFIED BY '${DB_PASS}';
CREATE USER IF NOT EXISTS '${DB_USER}'@'127.0.0.1' IDENTIFIED BY '${DB_PASS}';
GRANT ALL PRIVILEGES ON \`hongbao%\`.* TO '${DB_USER}'@'localhost';
GRANT ALL PRIVILEGES ON \`hongbao%\`.* TO '${DB_USER}'@'127.0.0.1';
FLUSH PRIVILEGES;
SQL
# InnoDB sizing: the server defaults (128 MB buffer pool, 96 MB redo log) are sized for a laptop;
# settlement writes several rows per credit, and once the tables outgrow the buffer pool and the
# redo log forces constant checkpoints its rate falls by a third over a long burst
# (docs/performance.md). Both are dynamic in MariaDB 10.11; only ever raised here, never lowered.
BP=${HONGBAO_INNODB_BUFFER_POOL_MB:-1024}
LOG=${HONGBAO_INNODB_LOG_FILE_MB:-512}
mysql --protocol=socket -uroot <<SQL
SET @bp = ${BP} * 1024 * 1024, @log = ${LOG} * 1024 * 1024;
SET @sql = IF(@@innodb_buffer_pool_size < @bp, CONCAT('SET GLOBAL innodb_buffer_pool_size = ', @bp), 'DO 0');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SET @sql = IF(@@innodb_log_file_size < @log, CONCAT('SET GLOBAL innodb_log_file_size = ', @log), 'DO 0');
PREPARE s FROM @sql; EXECUTE s; DEALLOCATE PREPARE s;
SQL
echo "local-deps: MariaDB and Redis ready (user ${DB_USER}; InnoDB buffer pool $(mysql --protocol=socket -uroot -N -e 'SELECT @@innodb_buffer_pool_size DIV 1048576') MB, redo log $(mysql --protocol=socket -uroot -N -e 'SELECT @@innodb_log_file_size DIV 1048576') MB)"
