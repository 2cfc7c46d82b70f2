#!/usr/bin/env bash
# Build the dcatwatch image with podman on a machine where no container registry is reachable
# and pip inside a build cannot reach PyPI over TLS (ops research §5.3):
#   1. debootstrap a Debian bookworm base with python3 + a venv at /opt/python on PATH
#      (it stands in for python:3.11-slim: `python`, `pip` and console scripts just work);
#   2. download the locked files (requirements.lock) on the host and bake them into a builder image
#      that points pip at them (PIP_NO_INDEX, PIP_FIND_LINKS);
#   3. `podman build` the project's Dockerfile with BUILD_IMAGE/BASE_IMAGE set to those two.
# Production builds use the Dockerfile's defaults (the pinned official python image) instead.
#
# Usage: scripts/build-image.sh            (then see the run command it prints)
# Env:   WORK=/tmp/dcatwatch-image  TAG=localhost/dcatwatch:local  MIRROR=http://deb.debian.org/debian
# Clean: podman --root "$WORK/storage" --runroot "$WORK/run" system reset -f; rm -rf "$WORK"
set -euo pipefail
cd "$(dirname "$0")/.."

WORK=${WORK:-/tmp/dcatwatch-image}
TAG=${TAG:-localhost/dcatwatch:local}
MIRROR=${MIRROR:-http://deb.debian.org/debian}
BASE=localhost/dcatwatch-base:bookworm
BUILDER=localhost/dcatwatch-base:bookworm-wheelhouse
podman=(podman --storage-driver overlay --root "$WORK/storage" --runroot "$WORK/run")
build=("${podman[@]}" build --isolation chroot --format docker --pull=never)  # docker: keeps HEALTHCHECK

missing=()
for tool in podman debootstrap runc; do command -v "$tool" >/dev/null || missing+=("$tool"); done
if ((${#missing[@]})); then
    echo "installing ${missing[*]} (Debian packages)" >&2
    apt-get update -qq
    DEBIAN_FRONTEND=noninteractive apt-get install -y -qq podman buildah runc debootstrap uidmap >&2
fi
mkdir -p "$WORK"

# 1. base image (cached in $WORK/storage; delete it to rebuild)
if ! "${podman[@]}" image exists "$BASE"; then
    rootfs="$WORK/rootfs"
    rm -rf "$rootfs"
    echo "debootstrap bookworm -> $rootfs" >&2
    debootstrap --variant=minbase --include=python3,python3-venv bookworm "$rootfs" "$MIRROR" >&2
    chroot "$rootfs" python3 -m venv /opt/python
    chroot "$rootfs" apt-get clean
    rm -rf "$rootfs"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/*.bin
    tar -C "$rootfs" -c . | "${podman[@]}" import \
        --change 'ENV PATH=/opt/python/bin:/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
        --change 'ENV LANG=C.UTF-8' --change 'CMD ["python"]' - "$BASE" >&2
    rm -rf "$rootfs"
fi

# 2. wheels from the host, and a builder image that installs only from them
wheelhouse="$WORK/context/wheelhouse"
rm -rf "$WORK/context" && mkdir -p "$wheelhouse"
# the very files requirements.lock names (its hashes), so the image's --require-hashes passes
.venv/bin/pip download --quiet --dest "$wheelhouse" --require-hashes -r requirements.lock
cat >"$WORK/context/Containerfile" <<EOF
FROM $BASE
COPY wheelhouse /wheelhouse
ENV PIP_NO_INDEX=1 PIP_FIND_LINKS=/wheelhouse PIP_DISABLE_PIP_VERSION_CHECK=1
EOF
"${build[@]}" -t "$BUILDER" "$WORK/context" >&2

# 3. the project's Dockerfile
start=$SECONDS
"${build[@]}" --build-arg BUILD_IMAGE="$BUILDER" --build-arg BASE_IMAGE="$BASE" -t "$TAG" . >&2
echo "built $TAG in $((SECONDS - start)) s" >&2
"${podman[@]}" image ls "$TAG" >&2
cat >&2 <<EOF
run it (runc + cgroupfs + low ulimits: crun and podman's default ulimits fail in this sandbox):
  ${podman[*]} --cgroup-manager cgroupfs --runtime runc run -d --name dcatwatch \\
      --ulimit nofile=1024:1024 --ulimit nproc=1024:1024 -p 127.0.0.1:9108:9108 $TAG serve --demo
EOF
