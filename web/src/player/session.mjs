// The fetch loop of a streaming session (docs/player.md): ABR plan steps fetched one after another, each described
// for the page (what it completes, how many bytes so far) and handed on for decoding. Over HTTP it runs in the
// decode worker, so that neither the page's start-up (three.js and Spark compile on the main thread) nor its
// rendering delays the stream; over WebRTC (a page-only API) it runs on the page.
import { tileView } from "../decoder/container.mjs";
import { passes, plan } from "./abr.mjs";
import { parseMpd, mediaUrl } from "./mpd.mjs";
import { scheduleTiles } from "./tiles.mjs";

const MAX_MPD_BYTES = 16 << 20;

/** The manifest `/` plays when the URL names none: the server's pick (streams.json), else manifest.mpd. */
export async function defaultMpd(pageUrl) {
  const resp = await fetch(new URL("_player/streams.json", pageUrl), { cache: "no-store" });
  if (resp.ok) {
    const j = await resp.json();
    if (j.default) return j.default;
    throw new Error(`no .mpd manifest in the served directory${j.streams?.length ? "" : " (none found)"}`);
  }
  return "manifest.mpd";
}

/**
 * Fetch and check the MPD, then the .splc header it points at. `parser` is a DOMParser (the page's own, or
 * @xmldom/xmldom's in the worker). Returns {manifest, media (path of the .splc), header (Uint8Array)}.
 */
export async function openStream({ get, pageUrl, mpd, parser, supportedEntropy, onManifest }) {
  const mpdUrl = new URL(mpd || (await defaultMpd(pageUrl)), pageUrl);
  if (mpdUrl.origin !== new URL(pageUrl).origin) throw new Error(`mpd=${mpd}: only manifests on this server are played`);
  const mpdBytes = await get(mpdUrl.pathname, null, MAX_MPD_BYTES);
  const manifest = parseMpd(new TextDecoder().decode(mpdBytes), parser);
  if (!supportedEntropy.includes(manifest.entropy)) {
    throw new Error(
      `This stream is coded with the '${manifest.entropy}' entropy back-end, which the web player cannot decode ` +
        `(it reads ${supportedEntropy.join(", ")}). Re-encode it, e.g. splatcast encode --entropy rans.`,
    );
  }
  const media = mediaUrl(mpdUrl.href, manifest.mediaUrl).pathname;
  onManifest?.(manifest);
  const header = await get(media, [manifest.headerRange[0], manifest.headerRange[1] + 1]);
  return { manifest, media, header };
}

/** The header's index must describe the stream the MPD announced (a tiled one: as many tiles as tile sets). */
export function checkIndexAgainstMpd(index, manifest) {
  if (index.layers.length !== manifest.layers.length || index.totalBytes !== manifest.totalBytes) {
    throw new Error(`the .splc header (${index.layers.length} layers, ${index.totalBytes} bytes) disagrees with the MPD`);
  }
  if ((index.tileCount || 1) !== (manifest.tiles || 1)) {
    throw new Error(`the .splc header has ${index.tileCount || 1} tiles, the MPD announces ${manifest.tiles || 1}`);
  }
}

/**
 * A fetch function over `transport()` (the current transport) that feeds the throughput estimator. The transfer
 * time is the transport's own measurement where it has one (HTTP: Resource Timing, immune to a busy thread), else
 * the time until the body was in hand.
 */
export function timedGet(transport, estimator, counters) {
  return async (path, range, maxBytes) => {
    const t0 = performance.now();
    const t = transport();
    const data = await t.fetch(path, range, { maxBytes });
    estimator.add(data.length, t.lastSeconds ?? (performance.now() - t0) / 1000);
    counters.requests += 1;
    return data;
  };
}

/**
 * Fetch every plan step of `index` from `media`, calling onStep(info, data) with
 * info = {seq, tile, layer, chunk, kind, refine, start, end, bytes (received so far), completes: [layers], final}.
 * A tiled stream's tiles are fetched in the order the viewer needs them (tiles.mjs), with `camera()` the viewer's
 * camera now (null until known: the file's order). Returns the byte ranges fetched, in order.
 */
export async function streamSteps({ index, media, choose, estimator, get, startBytes, onStep, camera = () => null }) {
  const tiles = index.tileBoxes ? index.tileCount : 1;
  const views = index.tileBoxes ? Array.from({ length: tiles }, (_, t) => tileView(index, t)) : [index];
  const added = views.map((v) => v.layers.map(() => 0));
  const pending = views.map((v) => v.layers.map(() => new Set()));
  const steps = index.tileBoxes
    ? scheduleTiles(index, views.map((v, t) => passes(v, choose, estimator, t)), camera)
    : plan(index, choose, estimator);
  const layerDone = (j) => views.every((v, t) => added[t][j] === v.layers[j].chunks.length && pending[t][j].size === 0);
  const fetched = [];
  const done = new Set();
  let received = startBytes;
  let seq = 0;
  for (const step of steps) {
    const data = await get(media, [step.start, step.end]);
    received += data.length;
    fetched.push([step.start, step.end]);
    const j = step.layer, t = step.tile;
    if (step.kind === "add-dc") pending[t][j].add(step.chunk);
    else if (step.kind === "upgrade") pending[t][j].delete(step.chunk);
    if (step.kind !== "upgrade") added[t][j] += 1;
    const completes = [];
    for (let l = 0; l < index.layers.length; l++) if (!done.has(l) && layerDone(l)) { done.add(l); completes.push(l); }
    onStep({
      seq, tile: t, layer: j, chunk: step.chunk, kind: step.kind, refine: step.kind === "add-dc" ? "dc" : "full",
      start: step.start, end: step.end, bytes: received, completes,
      final: done.size === index.layers.length && completes.length > 0,
    }, data);
    seq += 1;
  }
  return fetched;
}
