#!/usr/bin/env bash
# Makes sure redis-server is installed (apt-get) and that a Redis server
# answers at AVENIR_TEST_REDIS_URL's host and port (default 127.0.0.1:6379):
# the running one, else one it starts.
set -euo pipefail
url=${AVENIR_TEST_REDIS_URL:-redis://127.0.0.1:6379}
hostport=${url#redis://}; hostport=${hostport##*@}; hostport=${hostport%%/*}
host=${hostport%%:*}; port=${hostport##*:}
[ "$port" = "$hostport" ] && port=6379

ping() {
  local reply
  exec 3<>"/dev/tcp/$host/$port" 2>/dev/null || return 1
  printf 'PING\r\n' >&3
  IFS= read -r -t 2 reply <&3 || true
  exec 3>&- 3<&-
  [[ "$reply" == +PONG* ]]
}

# The fault tests run private redis-server processes (killed, restarted,
# flushed), so the binary is needed even when a server already answers.
if ! command -v redis-server >/dev/null 2>&1; then
  echo "redis: not installed, installing redis-server with apt-get"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq redis-server >/dev/null
fi
if ping; then echo "redis: answering on $host:$port"; exit 0; fi
echo "redis: starting redis-server on $host:$port"
mkdir -p /tmp/avenir-redis
redis-server --daemonize yes --bind "$host" --port "$port" --save "" --appendonly no \
  --dir /tmp/avenir-redis --logfile /tmp/avenir-redis/redis.log
for _ in $(seq 1 50); do
  if ping; then echo "redis: answering on $host:$port"; exit 0; fi
  sleep 0.2
done
echo "redis: did not answer on $host:$port" >&2
exit 1
