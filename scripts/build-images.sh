#!/usr/bin/env bash
# Builds the demo/test images from Debian's busybox package: no container registry is needed.
#   skiff-demo:v1, skiff-demo:v2 (and :latest = v1) — an HTTP server on :8080 whose page names the
#   replica and the version, with GET /health (200 while /www/health exists) and CGI helpers
#   /cgi-bin/sick (health starts failing), /cgi-bin/crash (the process exits) and
#   /cgi-bin/headers (echoes X-Forwarded-For and the peer address).
#   skiff-demo:v1-noterm, skiff-demo:v2-noterm — the same, but PID 1 (a shell with no signal
#   handlers, as in many real images) ignores SIGTERM: a stop waits out the whole grace period and
#   ends in SIGKILL (exit 137), unless the container runs with an init (`init: true`).
# Usage: scripts/build-images.sh [DOCKER_HOST_ARGS...]   e.g. -H unix:///run/lab/h1.sock
set -euo pipefail
docker_args=("$@")
# Debian's dynamically linked busybox (fetched as a package, not installed: it conflicts with
# busybox-static) with the glibc it links against, so the demo image resolves service names
# through the normal resolver (static glibc cannot load the DNS module it needs at run time).
workdir=$(mktemp -d)
trap 'rm -rf "$workdir"' EXIT
( cd "$workdir" && { apt-get download busybox >/dev/null 2>&1 || { apt-get update -qq && apt-get download busybox >/dev/null; }; } )
dpkg-deb -x "$workdir"/busybox_*.deb "$workdir/pkg"
busybox_bin="$workdir/pkg/bin/busybox"
[ -x "$busybox_bin" ] || { echo "could not fetch Debian's busybox package" >&2; exit 1; }

build() {
  local version=$1 variant=${2:-}
  local root tag=$version trap_line
  # PID 1 of a container gets only the signals it has handlers for: without the trap, SIGTERM does
  # nothing (under an init, which forwards it to this shell as an ordinary process, it kills it).
  trap_line="trap 'echo \"demo $version stopping\"; exit 0' TERM INT"
  if [ "$variant" = noterm ]; then
    tag="$version-noterm"
    trap_line="# no signal handlers: as PID 1 this shell ignores SIGTERM"
  fi
  root="$workdir/root-$tag"
  mkdir -p "$root"
  mkdir -p "$root/bin" "$root/www/cgi-bin" "$root/tmp" "$root/etc"
  cp "$busybox_bin" "$root/bin/busybox"
  for applet in $("$busybox_bin" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  mkdir -p "$root/lib/x86_64-linux-gnu" "$root/lib64"
  for lib in $(ldd "$busybox_bin" | grep -o '/lib[^ ]*') /lib/x86_64-linux-gnu/libnss_dns.so.2 /lib/x86_64-linux-gnu/libnss_files.so.2; do
    cp -L "$lib" "$root/lib/x86_64-linux-gnu/$(basename "$lib")"
  done
  ln -s ../lib/x86_64-linux-gnu/ld-linux-x86-64.so.2 "$root/lib64/ld-linux-x86-64.so.2"
  echo 'hosts: files dns' > "$root/etc/nsswitch.conf"
  echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
  echo 'root:x:0:' > "$root/etc/group"
  cat > "$root/entrypoint.sh" <<SH
#!/bin/sh
# Writes the page that names this replica, then serves /www on \${PORT:-8080} in the foreground.
replica=\${SKIFF_SLOT:-\$(hostname)}
echo "hello from \$replica version $version" > /www/index.html
echo ok > /www/health
echo "demo $version starting as \$replica on port \${PORT:-8080}"
$trap_line
httpd -f -v -p \${PORT:-8080} -h /www &
wait \$!
SH
  cat > "$root/www/cgi-bin/sick" <<'SH'
#!/bin/sh
rm -f /www/health
printf 'Content-Type: text/plain\r\n\r\nsick\n'
SH
  cat > "$root/www/cgi-bin/headers" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\n'
echo "x-forwarded-for: ${HTTP_X_FORWARDED_FOR:-}"
echo "remote-addr: ${REMOTE_ADDR:-}"
SH
  # PID 1 ignores signals from inside its own container, so the crash kills httpd: the
  # entrypoint's wait returns and the container exits (code 137).
  cat > "$root/www/cgi-bin/crash" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\ncrashing\n'
killall -9 httpd
SH
  # busybox 1.35's wget crashes (also on the host), so clients in containers use this instead.
  cat > "$root/bin/http-get" <<'SH'
#!/bin/sh
# http-get URL: an HTTP/1.0 GET over nc; the body on stdout; exit 1 unless 2xx/3xx, 2 if no answer.
url=${1#http://}
hostport=${url%%/*}
path=/${url#*/}
[ "$url" = "$hostport" ] && path=/
host=${hostport%:*}
port=${hostport##*:}
[ "$host" = "$hostport" ] && port=80
response=$(printf 'GET %s HTTP/1.0\r\nHost: %s\r\nUser-Agent: http-get\r\n\r\n' "$path" "$host" | nc -w "${TIMEOUT:-5}" "$host" "$port") || exit 2
[ -n "$response" ] || exit 2
status=$(printf '%s\n' "$response" | head -n 1 | cut -d' ' -f2)
printf '%s\n' "$response" | sed '1,/^\r\{0,1\}$/d'
case "$status" in 2*|3*) exit 0 ;; *) exit 1 ;; esac
SH
  chmod +x "$root/bin/http-get"
  chmod +x "$root/entrypoint.sh" "$root/www/cgi-bin/sick" "$root/www/cgi-bin/crash" "$root/www/cgi-bin/headers"
  tar -C "$root" -c . | docker "${docker_args[@]}" import \
    --change 'CMD ["/entrypoint.sh"]' \
    --change 'EXPOSE 8080' \
    --change "ENV PATH=/bin DEMO_VERSION=$version" \
    --change 'WORKDIR /' \
    - "skiff-demo:$tag" > /dev/null
  echo "built skiff-demo:$tag"
}

build v1
build v2
build v1 noterm
build v2 noterm
docker "${docker_args[@]}" tag skiff-demo:v1 skiff-demo:latest
echo "tagged skiff-demo:latest -> v1"
