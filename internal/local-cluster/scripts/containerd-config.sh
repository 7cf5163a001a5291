#!/usr/bin/env bash
# The containerd configuration of the local cluster's node, printed on stdout; also what verify-images.sh runs the
# built images with, so they are checked under the same settings:
#   containerd-config.sh DIR SOCKET PAUSE_IMAGE CNI_CONF_DIR
# DIR holds containerd's root, state, runc and opt directories; SOCKET is its API socket (SOCKET.ttrpc beside it);
# PAUSE_IMAGE is the sandbox image's reference; CNI_CONF_DIR is where the pods' network configuration is. The CRI
# stream server (exec, port-forward) listens on 127.0.0.1 of containerd's network namespace, at a random port.
set -euo pipefail
usage="usage: containerd-config.sh DIR SOCKET PAUSE_IMAGE CNI_CONF_DIR"
dir=${1:?$usage} socket=${2:?$usage} pause_image=${3:?$usage} cni_conf_dir=${4:?$usage}
cat <<TOML
version = 2
root = "$dir/root"
state = "$dir/state"
disabled_plugins = ["io.containerd.snapshotter.v1.aufs", "io.containerd.snapshotter.v1.btrfs", "io.containerd.snapshotter.v1.zfs", "io.containerd.snapshotter.v1.devmapper", "io.containerd.tracing.processor.v1.otlp", "io.containerd.internal.v1.tracing"]
[grpc]
  address = "$socket"
[ttrpc]
  address = "$socket.ttrpc"
[debug]
  address = ""
  level = "warn"
[metrics]
  address = ""
[plugins."io.containerd.internal.v1.opt"]
  path = "$dir/opt"
[plugins."io.containerd.grpc.v1.cri"]
  sandbox_image = "$pause_image"
  restrict_oom_score_adj = true
  netns_mounts_under_state_dir = true
  disable_apparmor = true
  stream_server_address = "127.0.0.1"
  stream_server_port = "0"
  enable_selinux = false
  [plugins."io.containerd.grpc.v1.cri".containerd]
    snapshotter = "overlayfs"
    default_runtime_name = "runc"
    [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc]
      runtime_type = "io.containerd.runc.v2"
      [plugins."io.containerd.grpc.v1.cri".containerd.runtimes.runc.options]
        SystemdCgroup = false
        Root = "$dir/runc"
  [plugins."io.containerd.grpc.v1.cri".cni]
    bin_dir = "/usr/lib/cni"
    conf_dir = "$cni_conf_dir"
TOML
