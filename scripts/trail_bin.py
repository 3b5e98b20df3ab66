#!/usr/bin/env python3
"""Reads trail binary segments (.bin, or .bin.gz) and prints one JSON object per record.

Written from docs/FORMAT.md ("Binary") alone, with no code from the Rust library: it is the
proof that the document is enough. Usage: trail_bin.py SEGMENT...
"""
import gzip
import ipaddress
import json
import sys
import zlib

LEVELS = {1: "trace", 2: "debug", 3: "info", 4: "warn", 5: "error", 6: "fatal"}


class Cursor:
    def __init__(self, data):
        self.data, self.at = data, 0

    def take(self, n):
        if self.at + n > len(self.data):
            raise ValueError("payload ends early")
        out = self.data[self.at:self.at + n]
        self.at += n
        return out

    def u8(self):
        return self.take(1)[0]

    def varint(self):
        first = self.u8()
        if first < 251:
            return first
        width = {251: 2, 252: 4, 253: 8, 254: 16}[first]
        return int.from_bytes(self.take(width), "little")

    def signed(self):
        u = self.varint()
        return (u >> 1) ^ -(u & 1)

    def string(self):
        return self.take(self.varint()).decode("utf-8")

    def items(self, item):
        return [item() for _ in range(self.varint())]

    def value(self):
        tag = self.varint()
        if tag == 0:
            return None
        if tag == 1:
            return self.u8() == 1
        if tag in (2, 4):
            return self.signed()
        if tag in (3, 5):
            return self.varint()
        if tag == 6:
            import struct
            return struct.unpack("<f", self.take(4))[0]
        if tag == 7:
            import struct
            return struct.unpack("<d", self.take(8))[0]
        if tag == 8:
            return chr(self.varint())
        if tag == 9:
            return self.string()
        if tag == 10:
            return self.items(self.u8)
        if tag == 11:
            return str(ipaddress.IPv4Address(bytes(self.take(4))))
        if tag == 12:
            return str(ipaddress.IPv6Address(bytes(self.take(16))))
        if tag == 13:
            return self.items(self.value)
        if tag == 14:
            return dict(self.items(lambda: (self.string(), self.value())))
        raise ValueError(f"unknown value tag {tag}")


def text(value):
    """A value as a message shows it (strings as they are; enough for these checks)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def read(path):
    data = gzip.open(path).read() if path.endswith(".gz") else open(path, "rb").read()
    if data[:8] != b"TRAILBIN" or int.from_bytes(data[8:10], "little") != 1:
        raise ValueError(f"{path}: not a version 1 trail binary segment")
    callsites, threads, at = {}, {}, 16
    while at < len(data):
        length = int.from_bytes(data[at:at + 4], "little")
        crc = int.from_bytes(data[at + 4:at + 8], "little")
        payload = data[at + 8:at + 8 + length]
        if len(payload) < length:
            raise ValueError(f"{path}: torn frame at byte {at}")
        if zlib.crc32(payload) != crc:
            raise ValueError(f"{path}: checksum mismatch at byte {at}")
        at += 8 + length
        c = Cursor(payload)
        kind = c.varint()
        if kind == 0:
            cid, level = c.varint(), c.u8()
            target, module, file, line = c.string(), c.string(), c.string(), c.varint()
            template, fields = c.string(), c.items(c.string)

            def piece():
                tag = c.varint()
                return ("lit", c.string()) if tag == 0 else ("arg", c.varint()) if tag == 1 else ("actor", None)

            callsites[cid] = dict(level=LEVELS[level], target=target, file=file, line=line,
                                  fields=fields, pieces=c.items(piece))
        elif kind == 1:
            tid = c.varint()
            threads[tid] = c.string()
        elif kind in (2, 3):
            site, thread, seq, ts = callsites[c.varint()], threads[c.varint()], c.varint(), c.varint()
            actor = c.value() if c.u8() == 1 else None
            values = c.items(c.value)
            span = None
            if kind == 3:
                trace_id, span_id, parent_id = c.take(16).hex(), c.take(8).hex(), c.take(8).hex()
                span = dict(span=c.string(), span_id=span_id, trace_id=trace_id)
                if parent_id != "0" * 16:
                    span["parent_id"] = parent_id
            msg = "".join(p if k == "lit" else text(values[p]) if k == "arg" else text(actor)
                          for k, p in site["pieces"])
            record = dict(seq=seq, ts=ts, level=site["level"], target=site["target"], msg=msg,
                          fields=dict(zip(site["fields"], values)), file=site["file"],
                          line=site["line"], thread=thread)
            if actor is not None:
                record["actor"] = actor
            if span is not None:
                record.update(span)
            yield record
        else:
            raise ValueError(f"{path}: unknown frame kind {kind} at byte {at}")


if __name__ == "__main__":
    for segment in sys.argv[1:]:
        for rec in read(segment):
            print(json.dumps(rec, ensure_ascii=False))
