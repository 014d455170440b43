#!/usr/bin/env python3
"""Regenerates the gzip fixtures in Fixtures/ with CPython's zlib (run from this directory; not needed at test time).

Each plaintext is produced by a deterministic generator that FixtureInputs.swift mirrors exactly, so the tests
compare the decoded bytes with the original, not just the checksum. manifest.txt lists every fixture as
`file plaintext-name plaintext-length crc32-hex`.
"""
import os
import struct
import zlib

MASK = (1 << 64) - 1


def splitmix64(seed):
    state = seed
    while True:
        state = (state + 0x9E3779B97F4A7C15) & MASK
        z = state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        yield z ^ (z >> 31)


def random_bytes(count, seed):
    out = bytearray()
    for word in splitmix64(seed):
        out += struct.pack("<Q", word)
        if len(out) >= count:
            return bytes(out[:count])


def repetitive():
    return b"the quick brown fox jumps over the lazy dog 0123456789\n" * 600  # 33,000 bytes: more than one 32 KiB stored block


def long_distance():
    # A random 1 KiB block, 31,000 bytes of numbered text lines that cannot contain it, then the block again:
    # the second copy can only be coded as matches about 32,000 bytes back (zlib reaches at most 32,506).
    block = random_bytes(1024, 2)
    filler = b"".join(b"filler line %06d\n" % i for i in range(1823))[:31000]
    return block + filler + block


def ndjson():
    here = os.path.dirname(os.path.abspath(__file__))
    with open(os.path.join(here, "../../data/sample-events.ndjson"), "rb") as f:
        lines = f.read().split(b"\n")
    return b"\n".join(lines[:200]) + b"\n"


INPUTS = {
    "empty": b"",
    "one-byte": b"x",
    "repetitive": repetitive(),
    "random": random_bytes(4096, 1),
    "ndjson": ndjson(),
    "long-distance": long_distance(),
}

CONFIGS = [
    ("level0", 0, zlib.Z_DEFAULT_STRATEGY),
    ("level1", 1, zlib.Z_DEFAULT_STRATEGY),
    ("level6", 6, zlib.Z_DEFAULT_STRATEGY),
    ("level9", 9, zlib.Z_DEFAULT_STRATEGY),
    ("huffman", 6, zlib.Z_HUFFMAN_ONLY),
    ("rle", 6, zlib.Z_RLE),
    ("fixed", 6, zlib.Z_FIXED),
]

# Large stored or Huffman-only copies add size without adding coverage; these pairs are skipped.
SKIP = {("long-distance", "level0"), ("long-distance", "huffman"), ("ndjson", "huffman"), ("random", "level1"),
        ("random", "level9"), ("random", "rle"), ("ndjson", "level0"), ("long-distance", "rle")}


def gzip_member(data, level, strategy):
    compressor = zlib.compressobj(level, zlib.DEFLATED, 31, 8, strategy)
    return compressor.compress(data) + compressor.flush()


def raw_deflate(data, level, strategy):
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, strategy)
    return compressor.compress(data) + compressor.flush()


def main():
    here = os.path.dirname(os.path.abspath(__file__))
    out = os.path.join(here, "Fixtures")
    os.makedirs(out, exist_ok=True)
    manifest = []

    def write(name, payload, input_name):
        with open(os.path.join(out, name), "wb") as f:
            f.write(payload)
        data = INPUTS[input_name]
        manifest.append("%s %s %d %08x" % (name, input_name, len(data), zlib.crc32(data)))

    for input_name, data in INPUTS.items():
        for config, level, strategy in CONFIGS:
            if (input_name, config) in SKIP:
                continue
            write("%s-%s.gz" % (input_name, config), gzip_member(data, level, strategy), input_name)
    # Raw DEFLATE (no gzip wrapper) for the Inflater API.
    write("ndjson-level6.deflate", raw_deflate(INPUTS["ndjson"], 6, zlib.Z_DEFAULT_STRATEGY), "ndjson")
    # Every optional header field: FTEXT, FHCRC, FEXTRA, FNAME, FCOMMENT.
    data = INPUTS["repetitive"]
    header = bytearray(b"\x1f\x8b\x08\x1f" + struct.pack("<I", 1700000000) + b"\x02\x03")
    header += struct.pack("<H", 6) + b"AB\x02\x00hi"
    header += b"events.ndjson\x00" + b"a comment\x00"
    header += struct.pack("<H", zlib.crc32(bytes(header)) & 0xFFFF)
    trailer = struct.pack("<II", zlib.crc32(data), len(data) & 0xFFFFFFFF)
    with open(os.path.join(out, "all-header-fields.gz"), "wb") as f:
        f.write(bytes(header) + raw_deflate(data, 6, zlib.Z_DEFAULT_STRATEGY) + trailer)
    manifest.append("all-header-fields.gz repetitive %d %08x" % (len(data), zlib.crc32(data)))
    # Two members: `cat a.gz b.gz` decodes to a + b.
    both = INPUTS["ndjson"] + INPUTS["repetitive"]
    INPUTS["ndjson+repetitive"] = both
    write("two-members.gz", gzip_member(INPUTS["ndjson"], 6, 0) + gzip_member(INPUTS["repetitive"], 9, 0),
          "ndjson+repetitive")
    # A zip bomb: 10 MB of zeros in about 10 KB.
    INPUTS["zeros-10MB"] = bytes(10_000_000)
    write("zeros-10MB.gz", gzip_member(INPUTS["zeros-10MB"], 9, 0), "zeros-10MB")

    with open(os.path.join(out, "manifest.txt"), "w") as f:
        f.write("\n".join(manifest) + "\n")


if __name__ == "__main__":
    main()
