#!/usr/bin/env node
// npm --prefix web run decode -- IN.splc OUT.ply [--layer L] [--chunks N] [--refine dc|full] [--json]
//   [--reference-kernels]   (the JavaScript references instead of the WebAssembly kernels: same output, slower)
// Same operating points as `splatcast decode` (decode_progressive): a truncated file decodes to the chunks it holds.
import { readFileSync, writeFileSync } from "node:fs";
import { BitstreamFormatError, ProgressiveDecoder, initDecoder, tileView, useReferenceKernels, writePly } from "../decoder/index.mjs";

function decodeProgressive(data, layer, chunks, refine) {
  const dec = new ProgressiveDecoder(data);
  const idx = dec.index;
  const nL = idx.layers.length;
  const explicit = layer !== null;
  const target = layer === null ? nL - 1 : layer;
  if (!(target >= 0 && target < nL)) throw new BitstreamFormatError(`layer ${target} requested, the file has ${nL} layers`);
  const todo = idx.mode === "mdc" && explicit ? [target] : Array.from({ length: target + 1 }, (_, j) => j);
  const tiled = idx.tileCount > 1;
  if (chunks !== null && tiled) { // per tile; a tile with fewer chunks takes all of its own (format.md 1.7)
    const most = Math.max(0, ...idx.layers[target].tileChunks);
    if (chunks > most) throw new BitstreamFormatError(`layer ${target}: its tiles have at most ${most} chunks, ${chunks} requested`);
  }
  for (let t = 0; t < idx.tileCount; t++) {
    const view = tileView(idx, t);
    tile: for (const j of todo) {
      const li = view.layers[j];
      let nc = li.chunks.length;
      if (j === target && chunks !== null) {
        if (chunks > nc && !tiled) throw new BitstreamFormatError(`layer ${j} has ${nc} chunks, ${chunks} requested`);
        nc = Math.min(chunks, nc);
      }
      const r = j === target ? refine : "full";
      for (let c = 0; c < nc; c++) {
        const ce = li.chunks[c];
        const end = ce.offset + (r === "dc" ? ce.dcBytes : ce.fullBytes);
        if (data.length < end && !explicit) break tile; // a prefix: this tile stops at its last complete chunk
        dec.addChunk(j, c, data.subarray(ce.offset, end), r, t);
      }
    }
  }
  return dec;
}

async function main(argv) {
  const pos = [];
  let layer = null, chunks = null, refine = "full", json = false;
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    const val = () => { if (i + 1 >= argv.length) throw new Error(`${a} needs a value`); return argv[++i]; };
    if (a === "--layer") layer = Number.parseInt(val(), 10);
    else if (a === "--chunks") chunks = Number.parseInt(val(), 10);
    else if (a === "--refine") refine = val();
    else if (a === "--json") json = true;
    else if (a === "--reference-kernels") useReferenceKernels(true);
    else if (a.startsWith("--")) throw new Error(`unknown option ${a}`);
    else pos.push(a);
  }
  if (pos.length !== 2) throw new Error("usage: decode IN.splc OUT.ply [--layer L] [--chunks N] [--refine dc|full] [--json]");
  if (refine !== "dc" && refine !== "full") throw new Error(`--refine ${refine}: choose dc or full`);
  if ((layer !== null && !(layer >= 0)) || (chunks !== null && !(chunks >= 0))) throw new Error("--layer/--chunks must be integers >= 0");
  await initDecoder();
  const data = new Uint8Array(readFileSync(pos[0]));
  const t0 = performance.now();
  const dec = decodeProgressive(data, layer, chunks, refine);
  const cloud = dec.cloud();
  const ms = performance.now() - t0;
  writeFileSync(pos[1], writePly(cloud));
  if (json) {
    const layers = dec.index.layers.map((_, j) => ({ chunks_received: dec.tiles.reduce((a, _t, t) => a + dec.chunksReceived(j, t), 0), complete: dec.layerComplete(j) }));
    process.stdout.write(JSON.stringify({ input: pos[0], output: pos[1], gaussians: cloud.count, sh_degree: cloud.shDegree, entropy: dec.index.entropy, mode: dec.index.mode, decode_ms: ms, layers }) + "\n");
  } else {
    process.stdout.write(`${pos[1]}: ${cloud.count} Gaussians (sh degree ${cloud.shDegree}) in ${ms.toFixed(1)} ms\n`);
  }
}

main(process.argv.slice(2)).catch((exc) => {
  process.stderr.write(`error: ${exc && exc.name ? exc.name + ": " : ""}${exc && exc.message ? exc.message : exc}\n`.replace(/\n(?!$)/g, " "));
  process.exit(2);
});
