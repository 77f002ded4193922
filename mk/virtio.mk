# VirtIO injection (virtio/, docs/virtio.md). Included by the root Makefile
# (include mk/*.mk).
#
#   make virtio-tools   install virt-v2v-in-place (Debian package virt-v2v)
#                       and a kernel for libguestfs's appliance when missing
#   make virtio-check   virtio-tools, then the virtio package's tests, the
#                       real-tool one included (CI=true: it fails, not skips,
#                       when the tool is missing)
#
# --no-install-recommends is enough: virt-v2v's Depends pull in libguestfs,
# qemu-system-x86, qemu-utils, nbdkit and supermin. What Depends do not pull
# in is a kernel: supermin builds libguestfs's appliance from the host's
# /boot/vmlinuz-* and /lib/modules, and a container or minimal image has
# none ("supermin: failed to find a suitable kernel"), so linux-image-amd64
# is installed when /boot has no readable kernel. Measured on a bare Debian
# 12 container: virt-v2v ~27 s (140 packages), linux-image-amd64 ~90 s
# (mostly update-initramfs).

.PHONY: virtio-tools virtio-check

VIRTIO_KERNEL_PKG ?= linux-image-amd64

virtio-tools:
	@if [ "$$(id -u)" = 0 ]; then SUDO=; else SUDO=sudo; fi; \
	pkgs=; \
	if command -v virt-v2v-in-place >/dev/null 2>&1; then \
	  echo "[virtio] virt-v2v-in-place present: $$(virt-v2v-in-place --version 2>&1 | head -n1)"; \
	else \
	  pkgs=" virt-v2v"; \
	fi; \
	if ls /boot/vmlinuz-* >/dev/null 2>&1 && [ -r "$$(ls /boot/vmlinuz-* | tail -n1)" ]; then \
	  echo "[virtio] kernel for the libguestfs appliance: $$(ls /boot/vmlinuz-* | tail -n1)"; \
	elif ls /boot/vmlinuz-* >/dev/null 2>&1; then \
	  echo "[virtio] warning: /boot/vmlinuz-* is not readable by $$(id -un); libguestfs cannot build its appliance (chmod 0644 /boot/vmlinuz-*)"; \
	else \
	  pkgs="$$pkgs $(VIRTIO_KERNEL_PKG)"; \
	fi; \
	if [ -n "$$pkgs" ]; then \
	  echo "[virtio] installing:$$pkgs (apt-get, --no-install-recommends)"; \
	  $$SUDO apt-get update -qq && \
	  $$SUDO env DEBIAN_FRONTEND=noninteractive RUNLEVEL=1 \
	    apt-get install -y -qq --no-install-recommends $$pkgs >/dev/null && \
	  command -v virt-v2v-in-place >/dev/null && \
	  echo "[virtio] $$(virt-v2v-in-place --version 2>&1 | head -n1)"; \
	fi

virtio-check: virtio-tools
	CI=$${CI:-true} $(GO) test -race -count=1 ./virtio/
