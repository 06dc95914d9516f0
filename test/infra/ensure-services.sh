#!/usr/bin/env bash
# Makes sure what the test suite talks to is on this machine: PostgreSQL, RabbitMQ, the openstack and nova CLIs, and
# the programs some tests run (OpenSSH, QEMU, Chromium).
# Starts them when installed but stopped; installs them from Debian packages when absent (root only).
# Exits non-zero with a message saying what is missing when it cannot.
set -uo pipefail

say() { printf '[ensure-services] %s\n' "$*" >&2; }
die() { say "ERROR: $*"; exit 1; }
is_root() { [ "$(id -u)" = 0 ]; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
wait_port() { # port seconds
  local i
  for ((i = 0; i < $2 * 4; i++)); do port_open "$1" && return 0; sleep 0.25; done
  return 1
}

APT_UPDATED=0
apt_install() {
  is_root || die "$* not installed and not running as root: install it (apt-get install $*) or run the tests as root"
  command -v apt-get >/dev/null || die "$* not installed and apt-get is not available on this machine"
  if [ "$APT_UPDATED" = 0 ]; then
    say "apt-get update"
    DEBIAN_FRONTEND=noninteractive apt-get update -qq >/dev/null || die "apt-get update failed"
    APT_UPDATED=1
  fi
  say "installing $* from Debian packages"
  DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends "$@" >/dev/null || die "apt-get install $* failed"
}

ensure_postgres() {
  if port_open 5432; then return 0; fi
  if ! command -v pg_ctlcluster >/dev/null || [ -z "$(ls /etc/postgresql 2>/dev/null)" ]; then
    apt_install postgresql
  fi
  local version
  version=$(ls /etc/postgresql | sort -V | tail -n 1)
  [ -n "$version" ] || die "PostgreSQL is installed but has no cluster under /etc/postgresql"
  say "starting PostgreSQL $version"
  if is_root; then
    pg_ctlcluster --skip-systemctl-redirect "$version" main start || die "could not start PostgreSQL $version (see /var/log/postgresql)"
  else
    pg_ctlcluster "$version" main start || die "could not start PostgreSQL $version as $(id -un): start it, or run the tests as root"
  fi
  wait_port 5432 30 || die "PostgreSQL did not open 127.0.0.1:5432 within 30 s"
}

# The tests connect as postgres over TCP. A freshly installed Debian cluster asks for a password there,
# so give the postgres role the password the test URL carries (harmless where auth is trust).
ensure_postgres_login() {
  if PGCONNECT_TIMEOUT=5 psql "${FERRY_TEST_DATABASE_URL}" -Atqc 'select 1' >/dev/null 2>&1; then return 0; fi
  is_root || die "cannot log in to PostgreSQL with ${FERRY_TEST_DATABASE_URL%%@*}@…; set FERRY_TEST_DATABASE_URL"
  say "setting the postgres role's password for TCP logins"
  su postgres -c "psql -qc \"ALTER ROLE postgres PASSWORD 'postgres'\"" >/dev/null || die "could not set the postgres password"
  PGCONNECT_TIMEOUT=5 psql "${FERRY_TEST_DATABASE_URL}" -Atqc 'select 1' >/dev/null 2>&1 \
    || die "still cannot log in to PostgreSQL at ${FERRY_TEST_DATABASE_URL##*@}"
}

ensure_rabbitmq() {
  if port_open 5672; then return 0; fi
  command -v rabbitmq-server >/dev/null || apt_install rabbitmq-server
  say "starting RabbitMQ"
  if is_root; then
    rabbitmq-server -detached >/dev/null 2>&1 || true
  else
    die "RabbitMQ is not running and only root can start it here: start it (rabbitmq-server -detached) or run the tests as root"
  fi
  wait_port 5672 90 || die "RabbitMQ did not open 127.0.0.1:5672 within 90 s (see /var/log/rabbitmq)"
}

ensure_tools() { # command package ...
  local missing=()
  while [ $# -gt 0 ]; do command -v "$1" >/dev/null || missing+=("$2"); shift 2; done
  [ ${#missing[@]} -eq 0 ] || apt_install "${missing[@]}"
}

export FERRY_TEST_DATABASE_URL=${FERRY_TEST_DATABASE_URL:-postgres://postgres:postgres@127.0.0.1:5432/postgres}
export FERRY_TEST_TRANSPORT_URL=${FERRY_TEST_TRANSPORT_URL:-amqp://guest:guest@127.0.0.1:5672}

# psql for the login check; the stock OpenStack clients for the end-to-end API tests; OpenSSH's sshd
# (and scp, the transfer benchmark's baseline) for the disk-transfer tests; QEMU (and cpio, to pack the test
# guest's initramfs) for the qemu driver's tests; Debian's Chromium (at /usr/bin/chromium, driven by playwright-core)
# for the dashboard's browser test.
ensure_tools psql postgresql-client openstack python3-openstackclient nova python3-novaclient \
  sshd openssh-server scp openssh-client qemu-system-x86_64 qemu-system-x86 qemu-img qemu-utils cpio cpio
[ -x /usr/bin/chromium ] || apt_install chromium
[ -x /usr/bin/chromium ] || die "chromium is installed but /usr/bin/chromium is missing"

ensure_postgres
ensure_postgres_login
ensure_rabbitmq
say "PostgreSQL and RabbitMQ are up; openstack, nova, OpenSSH, QEMU and Chromium present"
