#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Write the seed corpus for fuzz_ops.c into tests/fuzz/corpus/.

Each seed is a short operation sequence in the harness's encoding (see
decode_op in fuzz_ops.c): one opcode byte, then its argument bytes.  The
seeds give libFuzzer a start in every corner: all orders, compound and
exact blocks, movable pages and compaction, every refused free, policies,
memory exhaustion, raw GFP words.  Files named regress-* are inputs that
once found a library bug; they are kept as they were found.

    python3 tests/fuzz/gen_corpus.py
"""
import os
import struct

MAX_ORDER = 10
OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "corpus")

# gfp base indexes in fuzz_ops.c's gfp_bases[]
KERNEL, ATOMIC, NOWAIT, NOIO, NOFS, USER, HIGHUSER, HIGHUSER_MOVABLE = range(8)
TRANSHUGE_LIGHT, TRANSHUGE, DMA, DMA32, RECLAIMABLE, ACCOUNT, RELIABLE, RAW = range(8, 16)
# modifier bits in gfp_modifiers[]
ZERO, COMP, THISNODE, NORETRY, MAYFAIL, HIGH, MEMALLOC, NOMEMALLOC = (1 << i for i in range(8))


def gfp(base, mods=0, raw=None):
    b = bytes([base, mods])
    if base == RAW:
        b += struct.pack(">I", raw)
    return b


def alloc(base, order, mods=0, how=0, nid=0, raw=None):
    return bytes([0]) + gfp(base, mods, raw) + bytes([order, how, nid])


def free(slot, how=0):
    return bytes([3, slot, how])


def exact(size, base=KERNEL, mods=0, mult=0):
    return bytes([5]) + gfp(base, mods) + bytes([size >> 8 & 0xff, size & 0xff, mult])


def movable(nid, count_byte=0, k_byte=0):
    # (count_byte + 1) * 4 pages on node nid, then every (k_byte % 4 + 2)-th freed
    return bytes([6, nid, count_byte, k_byte])


def bad_free(slot, how):
    return bytes([7, slot, how])


def get_put(slot, n):
    return bytes([8, slot, n])


def policy(mode, bits):
    # mode byte: fuzz_ops maps b % (PA_MPOL_MAX + 2) - 1, so +1 here
    return bytes([9, 0, mode + 1, bits])


def policy_str(s):
    b = s.encode()
    return bytes([9, 1, len(b)]) + b


def compact(nid):
    return bytes([10, nid + 1])   # -1 .. NODES+1 (NODES+1: compact_memory)


def misc(what):
    return bytes([11, what])


seeds = {}
seeds["orders"] = b"".join(alloc(KERNEL, o, how=o % 3) for o in range(MAX_ORDER + 3)) + \
    b"".join(free(s, s) for s in range(MAX_ORDER + 1))
seeds["zero-and-zones"] = b"".join(
    alloc(base, o, mods=ZERO, how=1, nid=o % 3)
    for base in (KERNEL, DMA, DMA32, HIGHUSER_MOVABLE, RELIABLE) for o in (0, 3, 9))
seeds["compound"] = b"".join(alloc(KERNEL, o, mods=COMP) for o in range(1, 8)) + \
    b"".join(free(s, 2 * s + 1) for s in range(7)) + get_put(0, 3)
seeds["exact"] = b"".join(exact(sz, mult=m) for sz, m in
                          ((1, 0), (4096, 0), (4097, 2), (12345, 5), (0xffff, 63), (0, 0))) + \
    b"".join(free(s) for s in range(6))
seeds["movable-compaction"] = movable(0, 255, 0) + compact(0) + movable(1, 120, 1) + \
    compact(2) + alloc(HIGHUSER_MOVABLE, 9, mods=COMP) + compact(-1) + compact(3) + movable(0, 3, 2)
seeds["bad-frees"] = alloc(KERNEL, 3) + alloc(KERNEL, 0) + exact(9000) + alloc(KERNEL, 4, mods=COMP) + \
    b"".join(bad_free(s, h) for s in range(4) for h in range(6))
seeds["double-free"] = b"".join(alloc(KERNEL, 0) + free(0, 0x30 | f) for f in (0, 1, 0x40, 0x80, 0x81))
seeds["policies"] = policy(2, 0x02) + alloc(USER, 2, how=0) + alloc(USER, 0, how=2) + \
    policy(3, 0x03) + b"".join(alloc(USER, 0) for _ in range(6)) + policy(1, 0x01) + \
    alloc(KERNEL, 1) + policy(6, 0x03) + alloc(KERNEL, 0) + policy(7, 0x01) + policy(-1, 0) + \
    policy(0, 0x80) + policy(2, 0x0c) + policy(4, 0x80) + policy(5, 0x03) + alloc(KERNEL, 5)
seeds["policy-strings"] = b"".join(policy_str(s) for s in (
    "interleave=all", "bind=1", "preferred=0", "weighted-interleave=0:3,1:1", "local",
    "preferred-many=0,1", "bind=7", "interleave=!0", "bogus", "", "bind=0-1,,"))
seeds["exhaust"] = b"".join(alloc(HIGHUSER_MOVABLE, MAX_ORDER, mods=NORETRY) for _ in range(10)) + \
    b"".join(alloc(KERNEL, 9, mods=MAYFAIL) for _ in range(4)) + alloc(ATOMIC, 0) + \
    alloc(NOWAIT, 2) + alloc(KERNEL, 0, mods=MEMALLOC) + alloc(KERNEL, 3, mods=HIGH | NOMEMALLOC) + \
    alloc(DMA, 0) + misc(0) + compact(2) + b"".join(free(s) for s in range(20))
seeds["raw-gfp"] = b"".join(alloc(RAW, o, raw=w, how=h) for o, w, h in (
    (0, 0x80000000, 0), (1, 0x00000005, 0), (2, 0x00000018, 1), (0, 0x01ffffff, 2),
    (3, 0x00000cc0, 0), (4, 0x02000000, 1), (0, 0x000000c0 | 0x08 | 0x02, 0)))
seeds["drains-and-reports"] = alloc(KERNEL, 0) + free(0) + b"".join(misc(w) for w in range(5)) + \
    get_put(0, 4)

# Bugs the harness found, as the smallest sequences that show them:
# pa_put_page on a non-compound order-4 block with a second reference freed
# all but its first page (the next allocations overlapped the live block);
regress = {}
regress["put-page-noncompound"] = alloc(KERNEL, 4) + get_put(0, 1) + \
    b"".join(alloc(KERNEL, 0) for _ in range(16)) + free(0, 0)
# the fast path accepted unknown GFP bits that the general path refuses;
regress["fastpath-unknown-gfp-bits"] = b"".join(
    alloc(RAW, o, raw=w) for o in (0, 1, 3) for w in (0x80000cc0, 0x40052020, 0x02000cc0))
# a NOFAIL request for the DMA zone of node 1, which has none (THISNODE),
# looped in the slow path forever (nid byte 2 is node 1, how 1 names it).
regress["nofail-no-zone"] = alloc(RAW, 0, raw=0x8000 | 0xcc0 | 0x01 | 0x200000, how=1, nid=2) + \
    alloc(RAW, 0, raw=0x8000 | 0xcc0 | 0x01 | 0x200000, how=1, nid=1)

os.makedirs(OUT, exist_ok=True)
for name, data in regress.items():
    with open(os.path.join(OUT, "regress-" + name), "wb") as f:
        f.write(data)
for name, data in seeds.items():
    with open(os.path.join(OUT, "seed-" + name), "wb") as f:
        f.write(data)
print(f"gen_corpus: {len(seeds)} seeds and {len(regress)} regression inputs in {OUT}")
