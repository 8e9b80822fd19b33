#!/usr/bin/env bats
# Image files as people have them, and as an attacker makes them: each format
# read by its first bytes, truncated and lying files refused before decoding,
# formats refused by name, and nothing that hangs or reads without end.
# Issue 15's image items: 1 (the 49-byte HDR hang, in mesh-gen and in
# mesh-refine's texture step), 8 (truncated BMP/TGA/GIF, 7999x7999 headers in
# small files, /dev/zero), 14 (messages that say what is wrong).
#
# Every file is made here: mkimg (python3, no libraries) writes a disc in
# each format; the JPEG is the fuzz corpus's.
load test_helper

T=20 # seconds any one command may take

# A status from a signal (>128, or 124 from timeout) is never acceptable.
refute_signal() {
    if [ "$status" -eq 124 ] || [ "$status" -gt 128 ]; then
        echo "status $status: killed by a signal or the time bound" >&2
        return 1
    fi
}

# mkimg KIND OUT [SIZE]: a red disc on white (alpha where the format has it).
# KIND: png bmp bmp8 tga tga-rle gif ppm pgm16
mkimg() {
    python3 - "$@" <<'EOF'
import struct, sys, zlib
kind, out = sys.argv[1], sys.argv[2]
n = int(sys.argv[3]) if len(sys.argv) > 3 else 96
def inside(x, y):
    return (x - n / 2) ** 2 + (y - n / 2) ** 2 < (n / 3) ** 2
def rgba(x, y):
    return (200, 40, 40, 255) if inside(x, y) else (255, 255, 255, 0)
def chunk(t, d):
    return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
b = b''
if kind == 'png':
    raw = b''.join(b'\0' + b''.join(bytes(rgba(x, y)) for x in range(n)) for y in range(n))
    b = (b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', n, n, 8, 6, 0, 0, 0))
         + chunk(b'IDAT', zlib.compress(raw)) + chunk(b'IEND', b''))
elif kind == 'bmp':
    stride = (3 * n + 3) & ~3
    rows = b''.join(b''.join(bytes(rgba(x, y)[2::-1]) for x in range(n)).ljust(stride, b'\0')
                    for y in reversed(range(n)))
    b = (b'BM' + struct.pack('<IHHI', 54 + len(rows), 0, 0, 54)
         + struct.pack('<IiiHHIIiiII', 40, n, n, 1, 24, 0, len(rows), 0, 0, 0, 0) + rows)
elif kind == 'bmp8':
    stride = (n + 3) & ~3
    pal = bytes([255, 255, 255, 0, 40, 40, 200, 0])
    rows = b''.join(bytes(1 if inside(x, y) else 0 for x in range(n)).ljust(stride, b'\0')
                    for y in reversed(range(n)))
    off = 54 + len(pal)
    b = (b'BM' + struct.pack('<IHHI', off + len(rows), 0, 0, off)
         + struct.pack('<IiiHHIIiiII', 40, n, n, 1, 8, 0, len(rows), 0, 0, 2, 0) + pal + rows)
elif kind in ('tga', 'tga-rle'):
    px = [bytes(rgba(x, y)[2::-1] + rgba(x, y)[3:]) for y in range(n) for x in range(n)]
    if kind == 'tga':
        data = b''.join(px)
    else:  # one packet a run of equal pixels (at most 128), raw packets of 1 otherwise
        data, i = b'', 0
        while i < len(px):
            j = i
            while j < len(px) and j - i < 128 and px[j] == px[i]:
                j += 1
            data += bytes([0x80 | (j - i - 1)]) + px[i] if j - i > 1 else b'\0' + px[i]
            i = max(j, i + 1)
    b = struct.pack('<BBBHHBHHHHBB', 0, 0, 10 if kind == 'tga-rle' else 2, 0, 0, 0, 0, 0,
                    n, n, 32, 0x28) + data
elif kind == 'gif':  # 3-bit codes: a clear code before every pair of literals
    codes = []
    for i in range(n * n):
        if i % 2 == 0:
            codes.append(4)
        codes.append(1 if inside(i % n, i // n) else 0)
    codes.append(5)
    acc = nb = 0
    data = bytearray()
    for c in codes:
        acc |= c << nb
        nb += 3
        while nb >= 8:
            data.append(acc & 255); acc >>= 8; nb -= 8
    if nb:
        data.append(acc & 255)
    blocks = b''.join(bytes([len(data[i:i + 255])]) + bytes(data[i:i + 255])
                      for i in range(0, len(data), 255))
    b = (b'GIF89a' + struct.pack('<HHBBB', n, n, 0x81, 0, 0)
         + bytes([255, 255, 255, 200, 40, 40, 0, 0, 0, 0, 0, 0])
         + b',' + struct.pack('<HHHHB', 0, 0, n, n, 0) + b'\2' + blocks + b'\0;')
elif kind == 'ppm':
    b = b'P6\n%d %d\n255\n' % (n, n) + b''.join(bytes(rgba(x, y)[:3]) for y in range(n)
                                              for x in range(n))
elif kind == 'pgm16':
    b = b'P5\n%d %d\n65535\n' % (n, n) + b''.join(
        struct.pack('>H', 0 if inside(x, y) else 65535) for y in range(n) for x in range(n))
open(out, 'wb').write(b)
EOF
}

# python3 -c on the file $1: patch bytes; $2 is a python expression of `b` (a bytearray)
patch() {
    python3 -c "import struct,sys; b=bytearray(open(sys.argv[1],'rb').read()); $2; open(sys.argv[1],'wb').write(b)" "$1"
}

# the record for IMAGE in $output: "code<TAB>message", or "ok"
record_of() {
    printf '%s\n' "$output" | jq -r --arg f "$1" \
        'select(.image == $f) | if has("error") then "\(.error.code)\t\(.error.message)" else "ok" end' | sort -u
}

HDR49='#?RADIANCE\nFORMAT=32-bit_rle_rgbe\n\n-Y 8 +X 8\n\002\002\000\010'

# ---- item 1: the HDR hang --------------------------------------------------------

@test "item 1: the 49-byte Radiance HDR is refused at once, by name, and the next image is served" {
    printf "$HDR49" >h.hdr
    [ "$(wc -c <h.hdr)" -eq 49 ]
    mkimg png disc.png
    run --separate-stderr timeout $T mesh-gen --no-cache h.hdr disc.png
    refute_signal
    [ "$status" -eq 1 ]
    r=$(record_of h.hdr)
    [[ "$r" == bad_image$'\t'"h.hdr: a Radiance HDR image, which is refused"*"convert it to PNG" ]]
    [ "$(record_of disc.png)" = ok ]
}

@test "item 1: mesh-refine's texture step does not hang on the 49-byte HDR: a warning, the mesh still made" {
    mkimg png disc.png
    mesh-gen -q disc.png | tail -1 | jq -c '.image = "h.hdr"' >rec.ndjson
    printf "$HDR49" >h.hdr
    run --separate-stderr timeout 120 mesh-refine -q <rec.ndjson
    refute_signal
    printf '%s\n' "$output" | jq -e -s '.[-1].stage == "final" and (.[-1] | has("error") | not)' >/dev/null
    printf '%s\n' "$output" | jq -e -s '[.[].warnings // [] | .[] | select(test("Radiance HDR"))] | length > 0' >/dev/null
}

@test "item 1: Photoshop PSD and Softimage PIC are refused by name" {
    printf '8BPS\0\1\0\0\0\0\0\0\0\3\0\0\0\x10\0\0\0\x10\0\x08\0\x03' >a.psd
    { printf 'S\x80\xf6\x34'; head -c 84 /dev/zero; printf 'PICT\0\x10\0\x10'; } >a.pic
    run --separate-stderr timeout $T mesh-gen --no-cache a.psd a.pic
    refute_signal
    [ "$status" -eq 1 ]
    [[ "$(record_of a.psd)" == bad_image$'\t'"a.psd: a Photoshop PSD file, which is refused"* ]]
    [[ "$(record_of a.pic)" == bad_image$'\t'"a.pic: a Softimage PIC image, which is refused"* ]]
}

# ---- item 8: truncated and lying files, endless inputs -----------------------------

@test "item 8: BMP, TGA and GIF cut to half are refused as incomplete, never a mesh of filler" {
    for k in bmp tga tga-rle gif; do
        mkimg "$k" "whole.$k" 128
        head -c $(( $(wc -c <"whole.$k") / 2 )) "whole.$k" >"half.$k"
    done
    run --separate-stderr timeout 60 mesh-gen --no-cache half.bmp half.tga half.tga-rle half.gif
    refute_signal
    [ "$status" -eq 1 ]
    for f in half.bmp half.tga half.tga-rle half.gif; do
        r=$(record_of $f)
        echo "$f: $r"
        [[ "$r" == bad_image$'\t'"$f: truncated "* || "$r" == bad_image$'\t'"$f: incomplete "* ]]
        [[ "$r" == *"copy or save it again" ]]
    done
}

@test "item 8: 6 KB JPEG, BMP and TGA files whose headers claim 7999x7999 are refused at once" {
    cp "$ROOT"/tests/fuzz/corpus/image/disc.jpg big.jpg
    # the frame says 7999 x 7999; a comment makes the file 6 KB
    patch big.jpg 'i=b.index(b"\xff\xc0"); b[i+5:i+9]=struct.pack(">HH",7999,7999); b[2:2]=b"\xff\xfe"+struct.pack(">H",5600)+b"\0"*5598'
    [ "$(wc -c <big.jpg)" -gt 6000 ]
    mkimg bmp big.bmp 40
    patch big.bmp 'b[18:26]=struct.pack("<ii",7999,7999); b[:]=b[:6000].ljust(6000,b"\0")'
    mkimg tga big.tga 40
    patch big.tga 'b[12:16]=struct.pack("<HH",7999,7999); b[:]=b[:6000].ljust(6000,b"\0")'
    run --separate-stderr timeout 10 mesh-gen --no-cache big.jpg big.bmp big.tga
    refute_signal
    [ "$status" -eq 1 ]
    for f in big.jpg big.bmp big.tga; do
        r=$(record_of $f)
        echo "$f: $r"
        [[ "$r" == bad_image$'\t'* ]]
        [[ "$r" == *"7999 x 7999"* ]]
    done
}

@test "item 8: /dev/zero, a FIFO and a directory are refused before a byte is read" {
    mkfifo fifo.png
    mkdir dir.png
    run --separate-stderr timeout 5 mesh-gen --no-cache /dev/zero fifo.png dir.png
    refute_signal
    [ "$status" -eq 1 ]
    [[ "$(record_of /dev/zero)" == no_input$'\t'"/dev/zero: a character device, not a file"* ]]
    [[ "$(record_of fifo.png)" == no_input$'\t'"fifo.png: a FIFO, not a file"* ]]
    [[ "$(record_of dir.png)" == no_input$'\t'"dir.png: a directory, not a file"* ]]
}

# ---- item 14: messages that say what is wrong --------------------------------------

@test "item 14: a truncated PNG says truncated PNG, where the file ends, and what to do" {
    mkimg png disc.png 128
    head -c 300 disc.png >cut.png
    run --separate-stderr timeout $T mesh-gen --no-cache cut.png
    [ "$status" -eq 1 ]
    r=$(record_of cut.png)
    echo "$r"
    [[ "$r" == bad_image$'\t'"cut.png: truncated PNG (the file ends at byte 300 of a 128 x 128 image"* ]]
    [[ "$r" == *"the file is incomplete; copy or save it again" ]]
    [[ "$r" != *"()"* ]]
}

@test "item 14: 64000000x1 is too_large and 0x0 PNG and JPEG have no pixels, each said so" {
    python3 - <<'EOF'
import struct, zlib
def chunk(t, d): return struct.pack('>I', len(d)) + t + d + struct.pack('>I', zlib.crc32(t + d) & 0xffffffff)
for name, w, h in (('wide.png', 64000000, 1), ('zero.png', 0, 0)):
    open(name, 'wb').write(b'\x89PNG\r\n\x1a\n' + chunk(b'IHDR', struct.pack('>IIBBBBB', w, h, 8, 0, 0, 0, 0))
                           + chunk(b'IDAT', zlib.compress(b'\0' * 64)) + chunk(b'IEND', b''))
EOF
    cp "$ROOT"/tests/fuzz/corpus/image/disc.jpg zero.jpg
    patch zero.jpg 'i=b.index(b"\xff\xc0"); b[i+5:i+9]=b"\0\0\0\0"'
    run --separate-stderr timeout $T mesh-gen --no-cache wide.png zero.png zero.jpg
    [ "$status" -eq 1 ]
    [[ "$(record_of wide.png)" == too_large$'\t'"wide.png: the PNG header claims 64000000 x 1 pixels"* ]]
    [[ "$(record_of zero.png)" == bad_image$'\t'"zero.png: the PNG header claims 0 x 0 pixels, an image with no pixels"* ]]
    [[ "$(record_of zero.jpg)" == bad_image$'\t'"zero.jpg: the JPEG header claims 0 x 0 pixels, an image with no pixels"* ]]
    [[ "$output" != *"unknown image type"* ]]
}

@test "item 14: a PPM of width -5 says its width is \"-5\"" {
    printf 'P6\n-5 10\n255\n' >neg.ppm
    head -c 150 /dev/zero >>neg.ppm
    run --separate-stderr timeout $T mesh-gen --no-cache neg.ppm
    [ "$status" -eq 1 ]
    [[ "$(record_of neg.ppm)" == bad_image$'\t'"neg.ppm: damaged PPM header (its width is \"-5\", not a positive whole number)"* ]]
}

@test "item 14: header-only BMP, TGA, GIF, PPM and PNG are truncated images, never no_foreground" {
    mkimg bmp a.bmp; head -c 54 a.bmp >h.bmp
    mkimg tga a.tga; head -c 18 a.tga >h.tga
    mkimg gif a.gif; head -c 25 a.gif >h.gif
    printf 'P6\n512 512\n255\n' >h.ppm
    mkimg png a.png; head -c 33 a.png >h.png
    run --separate-stderr timeout $T mesh-gen --no-cache h.bmp h.tga h.gif h.ppm h.png
    [ "$status" -eq 1 ]
    for f in h.bmp h.tga h.gif h.ppm h.png; do
        r=$(record_of $f)
        echo "$f: $r"
        [[ "$r" == bad_image$'\t'"$f: truncated "* ]]
    done
}

# ---- what is read, and what is named --------------------------------------------------

@test "every format read makes a mesh: PNG, JPEG, BMP (24 and 8 bit), GIF, TGA (raw, RLE), PPM, 16-bit PGM" {
    for k in png bmp bmp8 gif tga tga-rle ppm pgm16; do mkimg "$k" "disc.$k"; done
    cp "$ROOT"/tests/fuzz/corpus/image/disc.jpg disc.jpg
    run --separate-stderr timeout 120 mesh-gen --no-cache disc.png disc.jpg disc.bmp disc.bmp8 \
        disc.gif disc.tga disc.tga-rle disc.ppm disc.pgm16
    refute_signal
    echo "$output" | jq -c '[.image, .stage, .error.message]'
    assert_success
    printf '%s\n' "$output" | jq -e -s 'length == 18 and all(.[]; .mesh.triangles > 0)' >/dev/null
}

@test "the content decides, not the name: a JPEG called .png is read as a JPEG" {
    cp "$ROOT"/tests/fuzz/corpus/image/disc.jpg photo.png
    run --separate-stderr timeout $T mesh-gen --no-cache photo.png
    assert_success
}

@test "formats that are not read are named: WebP, TIFF, AVIF, ASCII PPM, SVG, text" {
    printf 'RIFF\x24\0\0\0WEBPVP8 \x18\0\0\0' >a.webp
    printf 'II*\0\x08\0\0\0\0\0' >a.tif
    printf '\0\0\0\x1cftypavif\0\0\0\0mif1' >a.avif
    printf 'P3\n1 1\n255\n255 0 0\n' >a.ppm
    printf '<svg xmlns="http://www.w3.org/2000/svg"/>\n' >a.svg
    echo "hello, I am not a picture" >notes.png
    run --separate-stderr timeout $T mesh-gen --no-cache a.webp a.tif a.avif a.ppm a.svg notes.png
    [ "$status" -eq 1 ]
    [[ "$(record_of a.webp)" == bad_image$'\t'"a.webp: a WebP image, which is not read"*"convert it to PNG" ]]
    [[ "$(record_of a.tif)" == bad_image$'\t'"a.tif: a TIFF image"* ]]
    [[ "$(record_of a.avif)" == bad_image$'\t'"a.avif: an AVIF image"* ]]
    [[ "$(record_of a.ppm)" == bad_image$'\t'"a.ppm: a plain-text PNM image"* ]]
    [[ "$(record_of a.svg)" == bad_image$'\t'"a.svg: an SVG or XML document"* ]]
    [[ "$(record_of notes.png)" == bad_image$'\t'"notes.png: not an image but text (\"hello, I am not a picture"* ]]
}

@test "a GLB whose texture is the 49-byte HDR: refused as a bad mesh at once by mesh-render and mesh-refine" {
    python3 - "$ROOT/tests/fuzz/corpus/image/hang49.hdr" <<'PY'
import json, struct, sys
hdr = open(sys.argv[1], 'rb').read()
pos = struct.pack('<9f', 0, 0, 0, 1, 0, 0, 0, 1, 0)
uv = struct.pack('<6f', 0, 0, 1, 0, 0, 1)
img = hdr + b'\0' * (-len(hdr) % 4)
binc = pos + uv + img
doc = {"asset": {"version": "2.0"}, "buffers": [{"byteLength": len(binc)}],
       "bufferViews": [{"buffer": 0, "byteOffset": 0, "byteLength": 36},
                       {"buffer": 0, "byteOffset": 36, "byteLength": 24},
                       {"buffer": 0, "byteOffset": 60, "byteLength": len(hdr)}],
       "accessors": [{"bufferView": 0, "componentType": 5126, "count": 3, "type": "VEC3",
                      "min": [0, 0, 0], "max": [1, 1, 0]},
                     {"bufferView": 1, "componentType": 5126, "count": 3, "type": "VEC2"}],
       "images": [{"bufferView": 2, "mimeType": "image/png"}], "textures": [{"source": 0}],
       "materials": [{"pbrMetallicRoughness": {"baseColorTexture": {"index": 0}}}],
       "meshes": [{"primitives": [{"attributes": {"POSITION": 0, "TEXCOORD_0": 1}, "material": 0}]}],
       "nodes": [{"mesh": 0}], "scenes": [{"nodes": [0]}], "scene": 0}
j = json.dumps(doc).encode()
j += b' ' * (-len(j) % 4)
total = 12 + 8 + len(j) + 8 + len(binc)
out = struct.pack('<3I', 0x46546C67, 2, total) + struct.pack('<2I', len(j), 0x4E4F534A) + j
out += struct.pack('<2I', len(binc), 0x004E4942) + binc
open('hdrtex.glb', 'wb').write(out)
PY
    run --separate-stderr timeout 30 mesh-render -o pics hdrtex.glb
    [ "$status" -eq 1 ]
    jq -e '.error.code == "bad_mesh" and (.error.message | test("images\\[0\\]") and test("HDR"))' <<<"$output"
    run --separate-stderr timeout 30 mesh-refine --stage refined --smooth 0 hdrtex.glb
    [ "$status" -eq 1 ]
    jq -e '.error.code == "bad_mesh"' <<<"$output"
}
