#!/usr/bin/env bash
# Builds the demo/test images offline from Debian's busybox-static: no registry is needed.
#   skiff-demo:v1, skiff-demo:v2 (and :latest = v1) — an HTTP server on :8080 whose page names the
#   replica and the version, with GET /health (200 while /www/health exists) and CGI helpers
#   /cgi-bin/sick (health starts failing) and /cgi-bin/crash (the process exits).
# Usage: scripts/build-images.sh [DOCKER_HOST_ARGS...]   e.g. -H unix:///run/lab/h1.sock
set -euo pipefail
docker_args=("$@")
busybox_bin=$(command -v busybox || true)
if [ -z "$busybox_bin" ] || ! file -L "$busybox_bin" 2>/dev/null | grep -q 'statically linked'; then
  busybox_bin=/bin/busybox
fi
[ -x "$busybox_bin" ] || { echo "busybox-static is not installed (apt-get install busybox-static)" >&2; exit 1; }

build() {
  local version=$1
  local root
  root=$(mktemp -d)
  trap 'rm -rf "$root"' RETURN
  mkdir -p "$root/bin" "$root/www/cgi-bin" "$root/tmp" "$root/etc"
  cp "$busybox_bin" "$root/bin/busybox"
  for applet in $("$busybox_bin" --list); do
    [ "$applet" = busybox ] || ln -s busybox "$root/bin/$applet"
  done
  echo 'root:x:0:0:root:/:/bin/sh' > "$root/etc/passwd"
  echo 'root:x:0:' > "$root/etc/group"
  cat > "$root/entrypoint.sh" <<SH
#!/bin/sh
# Writes the page that names this replica, then serves /www on \${PORT:-8080} in the foreground.
replica=\${SKIFF_SLOT:-\$(hostname)}
echo "hello from \$replica version $version" > /www/index.html
echo ok > /www/health
echo "demo $version starting as \$replica on port \${PORT:-8080}"
trap 'echo "demo $version stopping"; exit 0' TERM INT
httpd -f -v -p \${PORT:-8080} -h /www &
wait \$!
SH
  cat > "$root/www/cgi-bin/sick" <<'SH'
#!/bin/sh
rm -f /www/health
printf 'Content-Type: text/plain\r\n\r\nsick\n'
SH
  cat > "$root/www/cgi-bin/crash" <<'SH'
#!/bin/sh
printf 'Content-Type: text/plain\r\n\r\ncrashing\n'
kill -9 1
SH
  chmod +x "$root/entrypoint.sh" "$root/www/cgi-bin/sick" "$root/www/cgi-bin/crash"
  tar -C "$root" -c . | docker "${docker_args[@]}" import \
    --change 'CMD ["/entrypoint.sh"]' \
    --change 'EXPOSE 8080' \
    --change "ENV PATH=/bin DEMO_VERSION=$version" \
    --change 'WORKDIR /' \
    - "skiff-demo:$version" > /dev/null
  echo "built skiff-demo:$version"
}

build v1
build v2
docker "${docker_args[@]}" tag skiff-demo:v1 skiff-demo:latest
echo "tagged skiff-demo:latest -> v1"
