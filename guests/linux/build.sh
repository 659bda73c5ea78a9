#!/bin/sh
# Builds guests/linux/bzImage and guests/linux/initramfs.cpio.gz (see README.md in this directory).
#
#   guests/linux/build.sh SCRATCH OUT [JOBS]
#
# SCRATCH: a work directory outside the repository (Debian's /usr/src/linux-source-6.1.tar.xz is
# unpacked there once and built in place); OUT: where bzImage and initramfs.cpio.gz are written.
# Needs Debian's linux-source-6.1, busybox-static, gcc, make, flex, bison, bc, libelf-dev, lz4, gzip.
# Reproducible: fixed KBUILD_BUILD_TIMESTAMP/USER/HOST/VERSION, cpio entries sorted with a fixed
# mtime, owner 0:0, gzip -n.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
scratch=$(mkdir -p "$1" && cd "$1" && pwd)
out=$(mkdir -p "$2" && cd "$2" && pwd)
jobs=${3:-2}
src=$scratch/linux-source-6.1
tarball=/usr/src/linux-source-6.1.tar.xz
[ -f "$tarball" ] || { echo "build.sh: $tarball missing (apt-get install linux-source-6.1)" >&2; exit 1; }
[ -x /bin/busybox ] || { echo "build.sh: /bin/busybox missing (apt-get install busybox-static)" >&2; exit 1; }
[ -d "$src" ] || tar -C "$scratch" -xf "$tarball"

# 2024-01-01 00:00:00 UTC
epoch=1704067200
export KBUILD_BUILD_TIMESTAMP='2024-01-01 00:00:00 UTC' KBUILD_BUILD_USER=hvsim KBUILD_BUILD_HOST=hvsim
export KBUILD_BUILD_VERSION=1 LC_ALL=C
cp "$here/config" "$src/arch/x86/configs/hvsim_defconfig"
make -C "$src" -s hvsim_defconfig
make -C "$src" -s -j"$jobs" bzImage
cp "$src/arch/x86/boot/bzImage" "$out/bzImage"

# The initramfs: busybox, its applet links, /init and the dirty helper.
gcc -Os -s -static -nostdlib -ffreestanding -fno-builtin -fno-tree-loop-distribute-patterns -fno-pie -no-pie \
	-fno-stack-protector -fcf-protection=none -fno-asynchronous-unwind-tables -fno-ident \
	-Wl,--build-id=none -Wl,-z,noexecstack -Wall -Wextra -Werror -o "$scratch/dirty" "$here/dirty.c"
gcc -O2 -o "$scratch/gen_init_cpio" "$src/usr/gen_init_cpio.c"
# gen_init_cpio gives regular files their own mtime: copies with the fixed one.
cp /bin/busybox "$scratch/busybox"
cp "$here/init" "$scratch/init"
touch -d "@$epoch" "$scratch/busybox" "$scratch/init" "$scratch/dirty"
list=$scratch/initramfs.list
{
	for d in /bin /dev /etc /proc /root /sbin /sys /usr /usr/bin /usr/sbin; do echo "$d dir $d 755 0 0"; done
	echo "/tmp dir /tmp 1777 0 0"
	echo "/dev/console nod /dev/console 600 0 0 c 5 1"
	echo "/init file /init $scratch/init 755 0 0"
	echo "/bin/busybox file /bin/busybox $scratch/busybox 755 0 0"
	echo "/bin/dirty file /bin/dirty $scratch/dirty 755 0 0"
	/bin/busybox --list-full | grep -v -e '^bin/busybox$' -e '^linuxrc$' |
		while read -r p; do echo "/$p slink /$p /bin/busybox 777 0 0"; done
} | sort -k1,1 | cut -d' ' -f2- > "$list"
"$scratch/gen_init_cpio" -t "$epoch" "$list" | gzip -9 -n > "$out/initramfs.cpio.gz"
ls -l "$out/bzImage" "$out/initramfs.cpio.gz"
