// node --test: rANS worked example, error classes, bit-exact golden streams (see test/golden/make_golden.py).
import assert from "node:assert/strict";
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { test } from "node:test";
import {
  BitstreamError, BitstreamFormatError, ChecksumError, LimitError, ProgressiveDecoder, SUPPORTED_ENTROPY, TruncatedError,
  UnsupportedVersionError, decodeIrans, decodeRans, headerLength, initDecoder, readIndex, tileView, writePly,
} from "../src/decoder/index.mjs";

const GOLDEN = new URL("./golden/", import.meta.url);
const load = (name) => new Uint8Array(readFileSync(new URL(name, GOLDEN)));
const readJson = (name) => JSON.parse(readFileSync(new URL(name, GOLDEN), "utf8"));
// version 3.0 streams (make_golden.py) and the frozen version 1.0 and 2.0 ones: all must decode bit-exactly
const expected = { ...readJson("expected.json"), ...readJson("expected_v1.json"), ...readJson("expected_v2.json") };
const fidelity = { ...readJson("fidelity.json"), ...readJson("fidelity_v2.json") };

const hex = (s) => Uint8Array.from(s.trim().split(/\s+/).map((b) => parseInt(b, 16)));
const EXAMPLE = hex("00 00 0a 01 01 00 0c 06 21 06 06 0d 00 00 00 00 00 00 00 06 02 2d 19 21 fb 6c 00 00 00 08 2f");

test("rANS worked example of entropy.md", () => {
  assert.equal(EXAMPLE.length, 31);
  assert.deepEqual(Array.from(decodeRans(EXAMPLE, 10, 16, null)), [0, -1, 1, 0, 0, 2, -3, 0, 700, 0]);
});

test("irans worked example of entropy.md: the rans one on one lane", () => {
  const one = new Uint8Array([...EXAMPLE.subarray(0, 20), 0x01, ...EXAMPLE.subarray(20)]);
  assert.deepEqual(Array.from(decodeIrans(one, 10, 16, null)), [0, -1, 1, 0, 0, 2, -3, 0, 700, 0]);
  for (const lanes of [0, 3, 16]) {
    const bad = one.slice(); bad[20] = lanes;
    assert.throws(() => decodeIrans(bad, 10, 16, null), BitstreamFormatError);
  }
  const words = one.slice(); words[21] = 0x40;  // a lane claiming more words than the payload holds
  assert.throws(() => decodeIrans(words, 10, 16, null), BitstreamError);
  assert.throws(() => decodeIrans(one, 11, 16, null), BitstreamFormatError);
});

test("rANS rejects a wrong count, a corrupt word and a short raw section", () => {
  assert.throws(() => decodeRans(EXAMPLE, 9, 16, null), BitstreamFormatError);
  const bad = EXAMPLE.slice(); bad[25] ^= 0x40;  // high word: the final state is no longer 0
  assert.throws(() => decodeRans(bad, 10, 16, null), BitstreamError);
  assert.throws(() => decodeRans(EXAMPLE.subarray(0, 30), 10, 16, null), BitstreamError);
  const pad = EXAMPLE.slice(); pad[30] |= 0x80;
  assert.throws(() => decodeRans(pad, 10, 16, null), BitstreamFormatError);
});

test("container errors raise the right class", () => {
  const data = load("rans_scalable.splc");
  const hb = headerLength(data.subarray(0, 16));
  assert.ok(readIndex(data.subarray(0, hb)).layers.length === 3);
  const magic = data.slice(); magic[0] = 0x58;
  assert.throws(() => readIndex(magic), BitstreamFormatError);
  assert.throws(() => readIndex(data.subarray(0, hb - 1)), TruncatedError);
  assert.throws(() => headerLength(data.subarray(0, 10)), TruncatedError);
  const major = data.slice(); major[4] = 5;
  assert.throws(() => readIndex(major), UnsupportedVersionError);
  const hcrc = data.slice(); hcrc[40] ^= 0x10;
  assert.throws(() => readIndex(hcrc), ChecksumError);
  const big = data.slice(); new DataView(big.buffer).setUint32(8, (64 << 20) + 1, true);
  assert.throws(() => headerLength(big), LimitError);
  for (const cls of [TruncatedError, BitstreamFormatError, UnsupportedVersionError, ChecksumError, LimitError]) assert.ok(new cls("x") instanceof BitstreamError);
});

test("chunk CRC and order errors", () => {
  const data = load("rans_scalable.splc");
  const dec = new ProgressiveDecoder(data);
  const ce = dec.index.layers[0].chunks[0];
  const part = data.slice(ce.offset, ce.offset + ce.fullBytes); part[5] ^= 0xff;
  assert.throws(() => dec.addChunk(0, 0, part), ChecksumError);
  assert.throws(() => dec.addChunk(0, 1, data.subarray(ce.offset)), BitstreamFormatError);
  assert.throws(() => dec.addChunk(0, 0, data.subarray(ce.offset, ce.offset + ce.fullBytes - 1)), TruncatedError);
  assert.throws(() => dec.addChunk(1, 0, data.subarray(ce.offset)), BitstreamFormatError);  // layer 0 not complete
});

function decodeOp(data, layer, chunks, refine) {
  const dec = new ProgressiveDecoder(data);
  const idx = dec.index;
  const target = layer === null ? idx.layers.length - 1 : layer;
  const todo = idx.mode === "mdc" && layer !== null ? [target] : Array.from({ length: target + 1 }, (_, j) => j);
  for (let t = 0; t < idx.tileCount; t++) { // a tiled file: every tile at the operating point (format.md 1.7)
    const view = tileView(idx, t);
    for (const j of todo) {
      const li = view.layers[j];
      const n = j === target && chunks !== null ? Math.min(chunks, li.chunks.length) : li.chunks.length;
      const r = j === target ? refine : "full";
      for (let c = 0; c < n; c++) {
        const ce = li.chunks[c];
        dec.addChunk(j, c, data.subarray(ce.offset, ce.offset + (r === "dc" ? ce.dcBytes : ce.fullBytes)), r, t);
      }
    }
  }
  return dec;
}

const sha = (b) => createHash("sha256").update(b).digest("hex");

for (const [name, ops] of Object.entries(expected)) {
  test(`golden ${name}: PLY bytes equal the Python decoder's`, async () => {
    await initDecoder();
    const data = load(`${name}.splc`);
    assert.ok(SUPPORTED_ENTROPY.includes(readIndex(data).entropy));
    for (const [op, want] of Object.entries(ops)) {
      const [l, c, r] = op.split("/");
      const dec = decodeOp(data, l === "None" ? null : Number(l), c === "None" ? null : Number(c), r);
      assert.equal(sha(writePly(dec.cloud())), want, `${name} ${op}`);
    }
  });
}

for (const [name, ops] of Object.entries(fidelity)) {
  test(`golden ${name}: the state's recorded fidelity equals the Python decoder's`, async () => {
    await initDecoder();
    const data = load(`${name}.splc`);
    for (const [op, want] of Object.entries(ops)) {
      const [l, c, r] = op.split("/");
      const dec = decodeOp(data, l === "None" ? null : Number(l), c === "None" ? null : Number(c), r);
      const json = (v) => (v === Infinity ? "inf" : v);
      const got = Array.isArray(want) ? dec.tiles.map((_t, t) => json(dec.stateFidelity(t))) : json(dec.stateFidelity());
      assert.deepEqual(got, want, `${name} ${op}`);
    }
  });
}

test("a joint inter layer (version 2) has no dc-only part and decodes whole from its one part", () => {
  const data = load("rans_joint.splc");
  const idx = readIndex(data);
  assert.deepEqual(idx.version, [3, 0]);
  assert.deepEqual(readIndex(load("rans_joint_v2.splc")).version, [2, 0]);
  assert.ok(idx.layers.slice(1).every((l) => l.coding === "inter" && l.chunks.every((c) => c.dcBytes === c.fullBytes && c.crcRest === 0)));
  const v1 = readIndex(load("rans_scalable_v1.splc"));
  assert.deepEqual(v1.version, [1, 0]);
  assert.ok(v1.layers.every((l) => l.chunks.every((c) => c.fidelityFull === 0)));
});

test("upgradeChunk turns a dc chunk into the full one", () => {
  const data = load("rans_scalable.splc");
  const a = decodeOp(data, 1, 2, "dc");
  const ce = a.index.layers[1].chunks;
  for (let c = 0; c < 2; c++) a.upgradeChunk(1, c, data.subarray(ce[c].offset + ce[c].dcBytes, ce[c].offset + ce[c].fullBytes));
  const b = decodeOp(data, 1, 2, "full");
  assert.equal(sha(writePly(a.cloud())), sha(writePly(b.cloud())));
  assert.throws(() => a.upgradeChunk(1, 0, new Uint8Array(0)), BitstreamFormatError);
});

test("CRC-32 equals zlib's on the check string and on every length around the 8-byte steps", async () => {
  const { crc32 } = await import("../src/decoder/crc32.mjs");
  const zlib = await import("node:zlib");
  assert.equal(crc32(new TextEncoder().encode("123456789")), 0xcbf43926);
  const bytes = new Uint8Array(Buffer.concat(Array.from({ length: 20000 }, (_, i) => createHash("sha256").update(String(i)).digest())));
  assert.equal(bytes.length, 640000);
  for (let n = 0; n < 70; n++) assert.equal(crc32(bytes.subarray(3, 3 + n)), zlib.crc32(bytes.subarray(3, 3 + n)), `length ${n}`);
  assert.equal(crc32(bytes), zlib.crc32(bytes));
});
