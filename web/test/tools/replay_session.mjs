// Replays the decode worker's HTTP session (session.mjs: MPD with @xmldom/xmldom, header, ABR plan, every step)
// under Node against a packaged directory on disk, with a simulated link, and writes the decoded cloud as PLY.
//
//   node test/tools/replay_session.mjs DIR MPD OUT.ply ABR MBPS [CAMERA.json]   -> JSON {manifest, index, steps, fetched}
// CAMERA.json ({viewProj, eye}): a tiled stream's fixed viewer camera (tiles.mjs ranks the tiles by it).
// Used by tests/web/test_js_session.py, which compares the result with the Python packager and decoder.
import { readFileSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { DOMParser } from "@xmldom/xmldom";
import { ProgressiveDecoder, initDecoder, readIndex, writePly } from "../../src/decoder/index.mjs";
import { ABRS, ThroughputEstimator } from "../../src/player/abr.mjs";
import { checkIndexAgainstMpd, openStream, streamSteps } from "../../src/player/session.mjs";

const [dir, mpd, out, abr, mbps, cameraFile] = process.argv.slice(2);
const camera = cameraFile ? JSON.parse(readFileSync(cameraFile, "utf8")) : null;
await initDecoder();
const estimator = new ThroughputEstimator();
// the simulated link: every request takes size / rate seconds, measured like HttpTransport's Resource Timing
const get = async (path, range, maxBytes) => {
  const file = readFileSync(join(dir, decodeURIComponent(path)));
  const data = range ? file.subarray(range[0], range[1]) : file;
  if (maxBytes && data.length > maxBytes) throw new Error(`${path}: body exceeds ${maxBytes} bytes`);
  estimator.add(data.length, (data.length * 8) / (Number(mbps) * 1e6));
  return new Uint8Array(data);
};
const pageUrl = "http://player.test/";
const { manifest, media, header } = await openStream({
  get, pageUrl, mpd, parser: new DOMParser(), supportedEntropy: ["rans", "zstd"],
});
const index = readIndex(header);
checkIndexAgainstMpd(index, manifest);
const decoder = new ProgressiveDecoder(header);
const steps = [];
const fetched = await streamSteps({
  // an untiled stream: only its chunk tables, as the worker's plain index has them
  index: index.tileBoxes ? index : { layers: index.layers.map((l) => ({ chunks: l.chunks })) },
  media, choose: ABRS[abr], estimator, get, startBytes: header.length, camera: () => camera,
  onStep: (info, data) => {
    steps.push(info);
    if (info.kind === "upgrade") decoder.upgradeChunk(info.layer, info.chunk, data, info.tile);
    else decoder.addChunk(info.layer, info.chunk, data, info.kind === "add-dc" ? "dc" : "full", info.tile);
  },
});
writeFileSync(out, writePly(decoder.cloud()));
process.stdout.write(JSON.stringify({ manifest, media, steps, fetched }));
