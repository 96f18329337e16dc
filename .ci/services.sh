# Services the tests talk to, started when down (same commands the machine uses at boot).
# Sourced by .ci/run; usable alone: `source .ci/services.sh && ensure_services`.

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

wait_port() { # name port
  for _ in $(seq 1 60); do port_open "$2" && return 0; sleep 1; done
  echo "ci: $1 did not come up on 127.0.0.1:$2" >&2
  return 1
}

ensure_service() { # name port start-command...
  local name=$1 port=$2; shift 2
  if port_open "$port"; then echo "ci: $name is up on :$port"; return 0; fi
  echo "ci: starting $name"
  "$@" || true
  wait_port "$name" "$port"
}

ensure_services() {
  ensure_service MariaDB 3306 start-stop-daemon --start --oknodo --background --exec /usr/sbin/mariadbd
  ensure_service NATS 4222 start-stop-daemon --start --oknodo --background --exec /usr/sbin/nats-server -- \
    -a 127.0.0.1 -p 4222 -js -sd /var/lib/nats-server -l /var/log/nats-server.log
}
