// The splatcast MPD (docs/streaming.md "The MPD"): what the player needs from it, parsed with DOMParser.
export const STREAM_SCHEME = "urn:splatcast:dash:stream:2025";
export const LAYER_SCHEME = "urn:splatcast:dash:layer:2025";
export const TILE_SCHEME = "urn:splatcast:dash:tile:2026"; // tiled streams: one AdaptationSet per tile

function keyValues(text) {
  const out = {};
  for (const part of String(text || "").split(",")) {
    const eq = part.indexOf("=");
    if (eq > 0) out[part.slice(0, eq).trim()] = part.slice(eq + 1).trim();
  }
  return out;
}

function byTag(node, name) {
  return Array.from(node.getElementsByTagNameNS("*", name));
}

/** Parse the MPD text -> {mediaUrl, headerRange: [start, endInclusive], headerBytes, totalBytes, entropy, mode, layers, tiles}. */
export function parseMpd(text, parser = new DOMParser()) {
  let doc;
  try {
    doc = parser.parseFromString(text, "application/xml");
  } catch (err) { // @xmldom/xmldom throws where browsers return a <parsererror> document
    throw new Error(`MPD: not well-formed XML (${String(err?.message || err).split("\n")[0]})`);
  }
  if (!doc || byTag(doc, "parsererror").length) throw new Error("MPD: not well-formed XML");
  const sets = byTag(doc, "AdaptationSet").filter((set) =>
    byTag(set, "EssentialProperty").some((p) => p.getAttribute("schemeIdUri") === STREAM_SCHEME),
  );
  if (!sets.length) throw new Error(`MPD: no AdaptationSet with EssentialProperty ${STREAM_SCHEME} (not a splatcast stream)`);
  const set = sets[0];
  const essential = byTag(set, "EssentialProperty").find((p) => p.getAttribute("schemeIdUri") === STREAM_SCHEME);
  const props = keyValues(essential.getAttribute("value"));
  const reps = byTag(set, "Representation");
  if (!reps.length) throw new Error("MPD: the AdaptationSet has no Representation");
  const baseUrl = byTag(reps[0], "BaseURL")[0]?.textContent?.trim();
  if (!baseUrl) throw new Error("MPD: Representation without BaseURL");
  const segBase = byTag(reps[0], "SegmentBase")[0];
  const indexRange = segBase?.getAttribute("indexRange");
  const m = /^(\d+)-(\d+)$/.exec(indexRange || "");
  if (!m) throw new Error(`MPD: SegmentBase@indexRange ${JSON.stringify(indexRange)} is not "a-b"`);
  const headerRange = [Number(m[1]), Number(m[2])];
  const layerProps = (r) => keyValues(byTag(r, "SupplementalProperty").find((e) => e.getAttribute("schemeIdUri") === LAYER_SCHEME)?.getAttribute("value"));
  const layers = reps.map((rep) => {
    const kv = layerProps(rep);
    return { id: rep.getAttribute("id"), layer: Number(kv.layer), chunks: Number(kv.chunks), gaussians: Number(kv.gaussians) };
  });
  // a tiled stream (docs/streaming.md "Tiles"): every tile's set; a layer's counts are the sums over the tiles
  const tileSets = sets.filter((a) => byTag(a, "SupplementalProperty").some((p) => p.getAttribute("schemeIdUri") === TILE_SCHEME));
  if (tileSets.length > 1) {
    for (const other of tileSets.slice(1)) {
      byTag(other, "Representation").forEach((rep, j) => {
        const kv = layerProps(rep);
        if (layers[j]) { layers[j].chunks += Number(kv.chunks); layers[j].gaussians += Number(kv.gaussians); }
      });
    }
  }
  return {
    mediaUrl: baseUrl,
    headerRange,
    headerBytes: headerRange[1] - headerRange[0] + 1,
    totalBytes: Number(props.total_bytes),
    entropy: props.entropy,
    mode: props.mode,
    layers,
    tiles: Math.max(tileSets.length, 1),
  };
}

/** Resolve the MPD's BaseURL against the MPD's URL; only same-origin URLs are followed. */
export function mediaUrl(mpdUrl, base) {
  const url = new URL(base, mpdUrl);
  if (url.origin !== new URL(mpdUrl).origin) throw new Error(`BaseURL ${base}: only URLs on the serving origin are followed`);
  return url;
}
