#!/bin/sh
# Boots a guest ELF in QEMU (TCG) through guests/qemu/multiboot.S and prints its console output,
# then one line: "exit: N" with the code it wrote to port 0xF4, "exit: triple-fault" or
# "exit: timeout"; the QEMU command line goes to stderr. An independent check of expected output,
# above all for guests without a native twin (the kernel and delivery guests). Needs
# qemu-system-x86_64 (Debian package qemu-system-x86); `deno task guests --qemu-check` runs it on
# every run in guests/manifest.json, `deno task qemu-oracle` records the delivery and pcdev guests' output.
# COM1 is present (-serial null: a 16550A whose output is dropped); the console is the debug port 0xE9.
#   usage: guests/qemu/run.sh GUEST.elf [RAM_MiB [CMDLINE]]
set -eu
elf=$1
ram_mib=${2:-64}
cmdline=${3:-}
here=$(dirname "$0")
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
# The guest's loadable bytes as one flat image starting at its lowest section address.
load=0x$(readelf -SW "$elf" | sed 's/^ *\[ *[0-9]*\]//' | awk '$2 == "PROGBITS" && $7 ~ /A/ {print $3}' | sort | head -1)
entry=$(readelf -h "$elf" | awk '/Entry point/ {print $4}')
objcopy -O binary -R .bss -R .comment "$elf" "$tmp/guest.bin"
gcc -c -o "$tmp/mb.o" -DGUEST_BLOB="\"$tmp/guest.bin\"" -DGUEST_LOAD="$load" -DGUEST_ENTRY="$entry" \
	-DRAM_SIZE="($ram_mib << 20)" -DCMDLINE="\"$cmdline\"" "$here/multiboot.S"
ld -m elf_x86_64 -e start -Ttext=0x100000 --oformat binary -o "$tmp/boot.bin" "$tmp/mb.o"
set +e
set -- qemu-system-x86_64 -M pc -cpu max -m "$ram_mib" -display none -no-reboot \
	-serial null -monitor none -kernel "$tmp/boot.bin" \
	-debugcon "file:$tmp/console.txt" -device isa-debug-exit,iobase=0xf4,iosize=4
# The exact command on stderr (without the temporary directory), for records of QEMU's output.
echo "qemu command: $*" | sed "s|$tmp/||g" >&2
timeout 60 "$@"
status=$?
set -e
cat "$tmp/console.txt"
# isa-debug-exit makes QEMU exit with (value << 1) | 1; with -no-reboot a triple fault (a reset)
# makes it exit with 0; timeout gives 124.
case $status in
0) echo "exit: triple-fault (qemu status 0)" ;;
124) echo "exit: timeout (qemu status 124)" ;;
*) echo "exit: $(( (status - 1) / 2 )) (qemu status $status)" ;;
esac
