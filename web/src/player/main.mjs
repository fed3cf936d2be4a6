// The splatcast web player: fetches a scalable .splc stream described by a DASH MPD (HTTP byte ranges or a WebRTC
// data channel), lets the receiver-driven ABR pick a dc or full pass per layer, has every piece decoded in a Web
// Worker and shows each new state recorded better than the one on screen with Spark on three.js without
// re-creating the scene. docs/player.md describes it all.
import { ThroughputEstimator, ABRS, DEFAULT_ABR } from "./abr.mjs";
import { checkIndexAgainstMpd, openStream, streamSteps, timedGet } from "./session.mjs";
import { HttpTransport, WebRtcTransport } from "./transport.mjs";
import { orbitCamera } from "./camera.mjs";
import { boxVisibility, tileBoxesInScene } from "./tiles.mjs";

// ------------------------------------------------------------------------------------------------ parameters
const params = new URLSearchParams(location.search);
const opts = {
  mpd: params.get("mpd"),
  transport: (params.get("transport") || "http").toLowerCase(),
  abr: params.get("abr") || DEFAULT_ABR,
  up: params.get("up") || "auto",
  cam: params.get("cam") ? JSON.parse(params.get("cam")) : null,
  elevation: Number(params.get("elevation") ?? 20),
  fov: Number(params.get("fov") ?? 50),
  dpr: Number(params.get("dpr") || window.devicePixelRatio || 1),
  hud: params.get("hud") !== "0",
};

const api = {
  events: [],
  params: opts,
  state: {
    phase: "starting", gaussians: 0, totalGaussians: 0, bytes: 0, totalBytes: 0, requests: 0, transport: null,
    fidelityDb: null, held: 0, // recorded fidelity of the state on screen; decoded states held back as worse
    frames: 0, // frames drawn (on demand: a still view draws none)
  },
  error: null,
  camera: null,
  shownFidelity: [], // the index's fidelity of every state handed to the renderer, in order (monotone display)
  /** The canvas as a PNG data URL (the drawing buffer is preserved). */
  snapshot: () => canvas.toDataURL("image/png"),
  steps: [], // every fetched piece's info ({seq, tile, layer, chunk, kind, ...}), in fetch order
  /** Point the camera (scripts, tests): {eye, target, up, fov}; counts as the viewer moving it. */
  setView: (v) => { viewerMoved = true; api.camera = view.applyView(v); },
  /** Tiled streams: each tile's visibility from the camera now (tiles.mjs; OUT_OF_VIEW outside the frustum). */
  tileVisibility: () => (api.index?.tileBoxes && view ? tileBoxesInScene(api.index).map((b) => boxVisibility(b, view.cameraState())) : null),
};
window.splatcast = api;

function emit(type, extra) {
  const ev = { type, t_ms: performance.now(), ...extra };
  api.events.push(ev);
  window.dispatchEvent(new CustomEvent(type, { detail: ev }));
  window.dispatchEvent(new CustomEvent("splatcast", { detail: ev }));
  return ev;
}

// ------------------------------------------------------------------------------------------------ HUD
const $ = (id) => document.getElementById(id);
if (!opts.hud) document.body.classList.add("hide-hud");
const fmtBytes = (n) => (n >= 1 << 20 ? `${(n / (1 << 20)).toFixed(2)} MiB` : n >= 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${n} B`);
function showMessage(text) {
  const el = $("message");
  el.textContent = text;
  el.hidden = false;
}
function updateHud() {
  const s = api.state;
  $("h-gauss").textContent = `${s.gaussians.toLocaleString()} / ${s.totalGaussians.toLocaleString()}`;
  $("h-bytes").textContent = `${fmtBytes(s.bytes)} / ${fmtBytes(s.totalBytes)}`;
  const tile = api.index?.tileBoxes ? ` t${s.tile}/${api.index.tileCount}` : "";
  $("h-layer").textContent = s.layer == null ? "-" : `L${s.layer} c${s.chunk}${tile} ${s.refine}${s.phase === "done" ? " (full)" : ""}`;
  $("h-first").textContent = s.firstRenderMs == null ? "-" : `${(s.firstRenderMs / 1000).toFixed(3)} s`;
  $("h-tput").textContent = s.throughputBps == null ? "-" : `${(s.throughputBps / 1e6).toFixed(2)} Mbit/s`;
  $("h-transport").textContent = s.transport || "-";
  const fid = s.fidelityDb === Infinity ? "final" : s.fidelityDb == null ? "-" : `${s.fidelityDb.toFixed(2)} dB`;
  $("h-fid").textContent = fid + (s.held ? ` (${s.held} held)` : "");
  $("bar-fill").style.width = `${s.totalBytes ? (100 * s.bytes) / s.totalBytes : 0}%`;
}

// ------------------------------------------------------------------------------------------------ view
// The renderer (three.js + Spark, most of the page's code) loads in parallel with the stream: the session below
// starts at once, and the newest decoded cloud waits here until the view is up.
const canvas = $("view");
let view = null;
let home = null; // {eye, target, up, fov}
// the newest decoded cloud not yet handed to Spark: decoded before the view was up, or while Spark was still
// working on the previous one (one state in flight: each hand-over restarts Spark's generate-sort-display
// pipeline, several frames under a software GPU, so handing over every state as it arrived kept the first one
// from ever reaching the screen while the first chunks came in quick succession)
let waitingCloud = null;
// the renderer (three.js + Spark: its module holds this thread for a few hundred ms while it starts); over HTTP the
// worker streams and decodes meanwhile (see below)
import("./view.mjs")
  .then(({ createView }) => {
    view = createView(canvas, opts, afterFrame);
    api.state.viewReadyMs = performance.now();
    if (waitingCloud) {
      const m = waitingCloud;
      waitingCloud = null;
      showDecoded(m);
    }
  })
  .catch((err) => fail(new Error(`renderer: ${err?.message || err}`)));
function applyHome() {
  api.camera = view.applyView(home);
}
let viewerMoved = false; // the viewer has orbited / zoomed: never move the camera under their hands
for (const type of ["pointerdown", "wheel", "touchstart"]) canvas.addEventListener(type, () => { viewerMoved = true; }, { passive: true });
const resetView = () => {
  viewerMoved = false; // back to the automatic framing, which later layers may refine again
  if (home && view) applyHome();
};
$("reset").addEventListener("click", resetView);
window.addEventListener("keydown", (e) => e.key === "r" && resetView());

/** A decoded cloud from the worker: frame the first view on it, hand it to Spark, track when it is drawn. */
function showDecoded(m) {
  // the first framing, then a better one with each complete layer, unless the view is fixed or the viewer moved
  if (m.frame && (!home || (!opts.cam && !viewerMoved))) {
    home = opts.cam
      ? { eye: opts.cam.eye, target: opts.cam.target, up: opts.cam.up, fov: opts.cam.fov ?? opts.fov }
      : orbitCamera(m.frame, { up: opts.up, elevationDeg: opts.elevation, fovDeg: opts.fov });
    api.framing = { ...m.frame, chosenUp: opts.cam ? null : home.upName };
    applyHome();
  }
  api.state.gaussians = m.numSplats;
  api.state.fidelityDb = m.fidelityDb ?? null;
  api.shownFidelity.push(api.state.fidelityDb);
  const version = view.showCloud(m);
  if (params.get("debug")) console.log(`shown seq=${m.seq} n=${m.numSplats} t=${performance.now().toFixed(0)}`);
  pendingDraws.push({ seq: m.seq, version, count: m.numSplats, since: performance.now() });
}

// ------------------------------------------------------------------------------------------------ drawn states
const steps = []; // seq -> {layer, chunk, refine, bytes, completes: [layers], final}
const fired = { first: false, layers: new Set(), full: false };
const pendingDraws = []; // states handed to Spark, oldest first: {seq, version, count, since}

function onDrawn(p) {
  const step = steps[p.seq];
  const info = { bytes: step.bytes, gaussians: p.count, layer: step.layer };
  if (!fired.first && p.count > 0) {
    fired.first = true;
    worker.postMessage({ type: "displayed" }); // the worker holds further decoding until now (worker.mjs)
    const ev = emit("firstRender", info);
    api.state.firstRenderMs = ev.t_ms;
  }
  for (let s = 0; s <= p.seq; s++) {
    for (const j of steps[s].completes) {
      if (!fired.layers.has(j)) {
        fired.layers.add(j);
        emit("layerComplete", { ...info, layer: j });
      }
    }
    if (steps[s].final && !fired.full) {
      fired.full = true;
      api.state.phase = "done";
      emit("fullQuality", info);
    }
  }
  updateHud();
}

// the viewer's camera, for fetching a tiled stream's tiles in the order the view needs them (sent when it moves)
let cameraSent = "", cameraSentMs = 0;
let latestCamera = null;
function sendCamera() {
  const now = performance.now();
  if (!api.index?.tileBoxes || !home || now - cameraSentMs < 100) return; // before the first framing: file order
  const cam = view.cameraState();
  const key = cam.viewProj.map((v) => v.toFixed(5)).join(",");
  if (key === cameraSent) return;
  cameraSent = key;
  cameraSentMs = now;
  latestCamera = cam;
  worker.postMessage({ type: "camera", ...cam });
}

/** On each animation frame (`rendered`: one was drawn, see view.mjs): which handed-over states has Spark drawn? */
function afterFrame(rendered) {
  if (rendered) api.state.frames += 1;
  sendCamera();
  if (pendingDraws.length && (rendered || performance.now() - pendingDraws[0].since > 5000)) {
    const shown = view.displayedVersion();
    const now = performance.now();
    let best = null;
    // drawn: in the displayed accumulator right after a frame (Spark swaps it in before its draw call, never
    // between our render and this check; newer versions imply older ones); a 5 s fallback if Spark never says so
    while (pendingDraws.length && (pendingDraws[0].version <= shown || now - pendingDraws[0].since > 5000)) {
      best = pendingDraws.shift();
    }
    if (best) {
      if (params.get("debug")) console.log(`displayed seq=${best.seq} t=${now.toFixed(0)} waited=${(now - best.since).toFixed(0)}`);
      onDrawn(best);
    }
  }
  if (!pendingDraws.length && waitingCloud) {
    const m = waitingCloud;
    waitingCloud = null;
    showDecoded(m);
  }
}

// ------------------------------------------------------------------------------------------------ worker
// Over HTTP the worker starts the session by itself, from its URL: a message to a worker that is still starting
// waits for this thread, which is about to be busy bringing up three.js and Spark.
const httpSession = opts.transport !== "webrtc";
const workerUrl = new URL("./worker.js", import.meta.url);
const workerParams = new URLSearchParams(
  httpSession ? { session: "http", page: location.href, mpd: opts.mpd || "", abr: opts.abr } : {},
);
if (params.get("debug")) workerParams.set("debug", "1");
workerUrl.search = workerParams.toString();
const worker = new Worker(workerUrl, { type: "module", name: "splatcast-decoder" });
const waiters = new Map();
function waitFor(type) {
  return new Promise((resolve, reject) => waiters.set(type, { resolve, reject }));
}
function fail(err) {
  if (api.error) return; // the first failure is the one to show
  api.error = String(err?.message || err);
  api.state.phase = "error";
  emit("error", { message: api.error });
  showMessage(api.error);
  console.error(err);
  for (const w of waiters.values()) w.reject(err);
  waiters.clear();
}
worker.onerror = (e) => fail(new Error(`decoder worker: ${e.message || e}`));
worker.onmessage = (ev) => {
  const m = ev.data;
  if (m.type === "cloud") {
    if (params.get("debug")) console.log(`cloud seq=${m.seq} n=${m.numSplats} t=${performance.now().toFixed(0)}`);
    api.state.decodeMs = m.decodeMs;
    if (view && !pendingDraws.length) showDecoded(m);
    else waitingCloud = { ...m, frame: m.frame ?? waitingCloud?.frame }; // only the newest state is worth drawing
    updateHud();
    return;
  }
  if (m.type === "held") {
    api.state.held += 1; // the decoded state is worse than the one on screen (monotone display)
    emit("held", { seq: m.seq, fidelityDb: m.fidelityDb, shownDb: m.shownDb });
    updateHud();
    return;
  }
  if (m.type === "mark") {
    console.log(`worker ${m.name} t=${(m.atEpochMs - performance.timeOrigin).toFixed(0)}`);
    return;
  }
  if (m.type === "started") {
    api.state.streamStartMs = m.atEpochMs - performance.timeOrigin;
    return;
  }
  if (m.type === "manifest") return onManifest(m.manifest);
  if (m.type === "index" && !waiters.has("index")) return onIndex(m.index, null); // the worker's own session
  if (m.type === "unsupported" && !waiters.has("unsupported")) return onUnsupported(m);
  if (m.type === "step") {
    Object.assign(api.state, { requests: m.requests, throughputBps: m.throughputBps });
    return onStep(m.info);
  }
  if (m.type === "error") return fail(new Error(m.message));
  const w = waiters.get(m.type);
  if (w) {
    waiters.delete(m.type);
    w.resolve(m);
  }
};
const workerReady = waitFor("ready");

// ------------------------------------------------------------------------------------------------ session
async function pickTransport() {
  if (opts.transport === "webrtc") {
    try {
      const t = new WebRtcTransport();
      await t.connect();
      api.state.connectMs = t.connectMs;
      return t;
    } catch (err) {
      console.warn("WebRTC failed, falling back to HTTP:", err);
      api.state.transportFallback = String(err?.message || err);
    }
  }
  return new HttpTransport();
}

async function run() {
  if (!ABRS[opts.abr]) throw new Error(`abr=${opts.abr}: one of ${Object.keys(ABRS).join(", ")}`);
  let transport = await pickTransport();
  api.state.transport = transport.name;
  if (transport.name === "http") {
    // the worker runs the whole session (MPD, header, pieces) while this thread brings up the renderer; it began
    // on its own unless WebRTC was asked for and failed
    const streamed = waitFor("streamed");
    if (!httpSession) worker.postMessage({ type: "start", pageUrl: location.href, mpd: opts.mpd, abr: opts.abr, requests: api.state.requests });
    api.fetched = (await streamed).fetched;
    api.state.phase = "decoding";
    return;
  }
  // WebRTC (a page-only API): this thread fetches and hands each piece to the worker
  const estimator = new ThroughputEstimator();
  const timed = timedGet(() => transport, estimator, api.state);
  const get = async (path, range, maxBytes) => {
    try {
      return await timed(path, range, maxBytes);
    } catch (err) {
      if (transport.name !== "webrtc") throw err;
      console.warn("WebRTC request failed, continuing over HTTP:", err);
      api.state.transportFallback = String(err?.message || err);
      transport.close();
      transport = new HttpTransport();
      api.state.transport = "http (fallback)";
      return await timed(path, range, maxBytes);
    } finally {
      api.state.throughputBps = estimator.estimateBps();
    }
  };
  api.state.streamStartMs = performance.now(); // the MPD request: the session clock of `splatcast play`
  const { supportedEntropy } = await workerReady; // the decoder loaded meanwhile
  const { manifest, media, header } = await openStream({
    get, pageUrl: location.href, mpd: opts.mpd, parser: new DOMParser(), supportedEntropy, onManifest,
  });
  api.state.bytes = header.length;
  updateHud();
  const indexReply = waitFor("index");
  const unsupported = waitFor("unsupported");
  worker.postMessage({ type: "init", header: header.buffer }, [header.buffer]);
  const reply = await Promise.race([indexReply, unsupported]);
  waiters.delete("index");
  waiters.delete("unsupported");
  if (reply.type === "unsupported") return onUnsupported(reply);
  onIndex(reply.index, manifest);
  api.fetched = await streamSteps({
    index: reply.index, media, choose: ABRS[opts.abr], estimator, get, startBytes: reply.headerBytes,
    camera: () => latestCamera,
    onStep: (info, data) => {
      onStep(info);
      const { seq, tile, layer, chunk, kind } = info;
      worker.postMessage({ type: "piece", seq, tile, layer, chunk, kind, data: data.buffer }, [data.buffer]);
    },
  });
  api.state.phase = "decoding";
  transport.close();
}

function onManifest(manifest) {
  api.state.totalBytes = manifest.totalBytes;
  api.state.totalGaussians = manifest.layers.length ? manifest.layers[manifest.layers.length - 1].gaussians : 0;
  updateHud();
}

function onIndex(index, manifest) {
  if (manifest) checkIndexAgainstMpd(index, manifest);
  api.index = index;
  api.state.phase = "streaming";
}

function onUnsupported(reply) {
  fail(new Error(`This stream's entropy back-end '${reply.entropy}' is not supported by the web player (${reply.supported.join(", ")}).`));
}

/** A fetched piece (by the worker or the page): the HUD and the bookkeeping of what each drawn state means. */
function onStep(info) {
  if (params.get("debug")) console.log(`piece ${info.seq} L${info.layer}c${info.chunk} ${info.kind} ${info.end - info.start}B t=${performance.now().toFixed(0)}`);
  steps[info.seq] = info;
  api.steps.push(info);
  Object.assign(api.state, { bytes: info.bytes, tile: info.tile, layer: info.layer, chunk: info.chunk, refine: info.refine });
  updateHud();
}

run().catch(fail);
