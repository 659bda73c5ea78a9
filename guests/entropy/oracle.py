#!/usr/bin/env python3
"""Expected output of the entropy guest, computed independently of hvsim.

hvsim's unlogged RDRAND/RDSEED draw from SplitMix64 (Steele, Lea, Flood 2014) seeded with
0x687673696d5f7631 ("hvsim_v1"); this script recomputes those values, the guest's FNV-1a mix and
its verdict line from the published algorithms, for a given serial input line.

    usage: guests/entropy/oracle.py [N [SERIAL_TEXT]]  > guests/entropy/entropy.expected.txt
"""
import sys

M = 2**64
ADJ = ["brave", "quiet", "curious", "golden", "patient", "swift", "gentle", "bold"]
NOUN = ["otter", "comet", "lantern", "harbor", "falcon", "garden", "compass", "river"]


def splitmix64(seed):
    s = seed
    while True:
        s = (s + 0x9E3779B97F4A7C15) % M
        z = s
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) % M
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) % M
        yield z ^ (z >> 31)


def fnv1a(h, data):
    for b in data:
        h = ((h ^ b) * 0x100000001B3) % M
    return h


def main():
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 3
    text = sys.argv[2].encode() if len(sys.argv) > 2 else b""
    gen = splitmix64(0x687673696D5F7631)
    out = ["entropy: source rdrand (hvsim)"]
    h = 0xCBF29CE484222325
    for i in range(n):
        v = next(gen)
        out.append("rdrand[%d] 0x%016x" % (i, v))
        h = fnv1a(h, v.to_bytes(8, "little"))
    v = next(gen)
    out.append("rdseed    0x%016x" % v)
    h = fnv1a(h, v.to_bytes(8, "little"))
    out.append('serial: %d bytes "%s"' % (len(text), text.decode()))
    h = fnv1a(h, text)
    out.append("mix: 0x%016x" % h)
    who = text.decode() if text else "stranger"
    out.append("hello, %s: you are a %s %s; lucky number %d" % (who, ADJ[h & 7], NOUN[(h >> 3) & 7], (h >> 6) % 1000))
    sys.stdout.write("\n".join(out) + "\n")


main()
