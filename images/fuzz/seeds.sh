#!/bin/sh
# Writes seed corpora under images/fuzz/corpus/ (git-ignored) from the bundles in
# $PYEMU_FIRMWARE_DIR (default ../shared/firmware, relative to the repository root). Real firmware
# is only copied there, never into the repository.
set -eu
cd "$(dirname "$0")/../.."
fw="${PYEMU_FIRMWARE_DIR:-../shared/firmware}"
c=images/fuzz/corpus
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
mkdir -p $c/app_image $c/partition $c/boot_info $c/config_block $c/bundle $c/recipe $c/detect $c/flash $c/elf
for b in "$fw"/*.tar.gz; do
    n=$(basename "$b" .tar.gz)
    mkdir "$tmp/$n"
    tar xzf "$b" -C "$tmp/$n"
    cp "$tmp/$n/bootloader.bin" "$c/app_image/$n-bootloader"
    for app in "$tmp/$n"/*.bin; do
        case "$app" in */bootloader.bin|*/partitions_*) ;; *) head -c 70000 "$app" > "$c/app_image/$n-app" ;; esac
    done
    cp "$tmp/$n"/partitions_*.bin "$c/partition/$n-table"
    for s in script script2 script_4MB script_8MB; do
        # The recipe target reads the first byte as the member to use, then the recipe.
        [ -f "$tmp/$n/$s" ] && { printf '\003'; cat "$tmp/$n/$s"; } > "$c/recipe/$n-$s"
    done
    cp "$tmp/$n/bootloader.bin" "$c/detect/$n-bootloader"
    cp "$tmp/$n"/partitions_*.bin "$c/detect/$n-table"
done
# Small synthetic bundle: recipe + a file it writes.
mkdir "$tmp/bundle"
printf '[["w", "0x10000", "app.bin"]]' > "$tmp/bundle/script"
printf '\351\001\002\040' > "$tmp/bundle/app.bin"
tar czf "$c/bundle/small.tar.gz" -C "$tmp/bundle" script app.bin
# boot_info: the record the bootloader writes (factory, ready), and a spec.
printf '\000\000\000\000\001\000\000\000\000\000\000\000\377\377\377\377\000\000\000\000\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\377\000\000\000\000' > "$c/boot_info/record"
printf 'active=ota_0,status=check,prev=factory,safeboot=1' > "$c/boot_info/spec"
# Config block: erased, and a spec.
head -c 1024 /dev/zero | tr '\000' '\377' > "$c/config_block/erased"
cp "$c/config_block/erased" "$c/detect/config-erased"
printf 'quiet=1,wifi_ssid_sta=home,boot_fs_type=fat,lora_region=5' > "$c/config_block/spec"
# Flash: the first 64 KB of a built image (bootloader, table, nvs) if pyemu has been built.
if [ -x target/release/pyemu ]; then
    b=$(ls "$fw"/*.tar.gz | head -1)
    target/release/pyemu flash build "$b" -o "$tmp/flash.img" >/dev/null
    head -c 65536 "$tmp/flash.img" > "$c/flash/head"
    cp "$c/flash/head" "$c/detect/flash-head"
fi
echo "seeds in $c"
