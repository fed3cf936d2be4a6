// The splatcast web player: fetches a scalable .splc stream described by a DASH MPD (HTTP byte ranges or a WebRTC
// data channel), lets the receiver-driven ABR pick dc/full per chunk, has every piece decoded in a Web Worker and
// shows each new state with Spark on three.js without re-creating the scene. docs/player.md describes it all.
import * as THREE from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { SparkRenderer, SplatMesh, PackedSplats } from "@sparkjsdev/spark";
import { parseMpd, mediaUrl } from "./mpd.mjs";
import { ThroughputEstimator, ABRS, plan } from "./abr.mjs";
import { HttpTransport, WebRtcTransport } from "./transport.mjs";
import { orbitCamera, parseUp, verticalFovDeg } from "./camera.mjs";

// ------------------------------------------------------------------------------------------------ parameters
const params = new URLSearchParams(location.search);
const opts = {
  mpd: params.get("mpd"),
  transport: (params.get("transport") || "http").toLowerCase(),
  abr: params.get("abr") || "throughput",
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
  state: { phase: "starting", gaussians: 0, totalGaussians: 0, bytes: 0, totalBytes: 0, requests: 0, transport: null },
  error: null,
  camera: null,
  /** The canvas as a PNG data URL (the drawing buffer is preserved). */
  snapshot: () => canvas.toDataURL("image/png"),
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
  $("h-layer").textContent = s.layer == null ? "-" : `L${s.layer} c${s.chunk} ${s.refine}${s.phase === "done" ? " (full)" : ""}`;
  $("h-first").textContent = s.firstRenderMs == null ? "-" : `${(s.firstRenderMs / 1000).toFixed(3)} s`;
  $("h-tput").textContent = s.throughputBps == null ? "-" : `${(s.throughputBps / 1e6).toFixed(2)} Mbit/s`;
  $("h-transport").textContent = s.transport || "-";
  $("bar-fill").style.width = `${s.totalBytes ? (100 * s.bytes) / s.totalBytes : 0}%`;
}

// ------------------------------------------------------------------------------------------------ three + Spark
const canvas = $("view");
const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, preserveDrawingBuffer: true, alpha: false });
renderer.setPixelRatio(opts.dpr);
renderer.setClearColor(0x000000, 1);
const scene = new THREE.Scene();
// splatcast's renderer: 3-sigma cut, 0.3 px^2 low-pass added to the 2D covariance, alpha >= 1/255, z-depth order
const spark = new SparkRenderer({ renderer, maxStdDev: 3, preBlurAmount: 0.3, blurAmount: 0, minAlpha: 1 / 255, sortRadial: false });
scene.add(spark);
const camera = new THREE.PerspectiveCamera(opts.fov, 1, 0.01, 1000);
let controls = null;
let home = null; // {eye, target, up, fov}
let fovShort = opts.fov;

function resize() {
  const w = canvas.clientWidth || window.innerWidth;
  const h = canvas.clientHeight || window.innerHeight;
  renderer.setSize(w, h, false);
  camera.aspect = w / h;
  camera.fov = verticalFovDeg(fovShort, w, h);
  camera.updateProjectionMatrix();
}
window.addEventListener("resize", resize);
resize();

function applyView(view) {
  const up = parseUp(view.up);
  fovShort = view.fov ?? opts.fov;
  camera.up.set(up[0], up[1], up[2]);
  camera.position.set(view.eye[0], view.eye[1], view.eye[2]);
  const dist = Math.hypot(...view.eye.map((v, i) => v - view.target[i]));
  camera.near = Math.max(1e-3, Math.min(0.2, dist * 0.01)); // splatcast's renderer culls z <= 0.2
  camera.far = Math.max(100, dist * 100);
  camera.lookAt(view.target[0], view.target[1], view.target[2]);
  resize();
  // OrbitControls captures camera.up when built: rebuild them when the view (and maybe up) changes
  controls?.dispose();
  controls = new OrbitControls(camera, canvas);
  controls.target.set(view.target[0], view.target[1], view.target[2]);
  controls.enableDamping = false;
  controls.update();
  api.camera = { eye: view.eye, target: view.target, up, fov: fovShort };
}
$("reset").addEventListener("click", () => home && applyView(home));
window.addEventListener("keydown", (e) => e.key === "r" && home && applyView(home));

let packed = null;
let mesh = null;

// Compile Spark's programs while the MPD, header and first chunk are in flight: one invisible placeholder splat.
{
  const words = new Uint32Array(2048 * 4); // splat 0: centre (0, 0, 0), opacity 0, zero scales: nothing visible
  packed = new PackedSplats({ packedArray: words, numSplats: 1 });
  mesh = new SplatMesh({ packedSplats: packed });
  scene.add(mesh);
}

/**
 * Hand a packed cloud to Spark, updating the one PackedSplats in place (scene, renderer and mesh stay). While the
 * capacity is unchanged the words are copied into Spark's own arrays (Spark re-uploads the same texture; giving it
 * a different buffer of the same size would make it upload a Uint8Array view, which WebGL refuses for RGBA32UI).
 */
function showCloud(m) {
  if (!packed) { // (only without the placeholder)
    const extra = {};
    for (const key of ["sh1", "sh2", "sh3"]) if (m[key]) extra[key] = m[key];
    packed = new PackedSplats({ packedArray: m.packedArray, numSplats: m.numSplats, extra, splatEncoding: m.splatEncoding });
    mesh = new SplatMesh({ packedSplats: packed });
    scene.add(mesh);
  } else {
    const shBefore = packed.getNumSh();
    let rebuild = false;
    if (packed.packedArray && packed.packedArray.length === m.packedArray.length) {
      packed.packedArray.set(m.packedArray);
      packed.numSplats = m.numSplats;
    } else {
      packed.packedArray = m.packedArray;
      packed.maxSplats = m.packedArray.length / 4;
      packed.numSplats = m.numSplats;
    }
    packed.splatEncoding = m.splatEncoding;
    for (const key of ["sh1", "sh2", "sh3"]) {
      const tex = packed.extra[`${key}Texture`];
      if (m[key] && packed.extra[key] && packed.extra[key].length === m[key].length && tex) {
        packed.extra[key].set(m[key]);
        tex.value.needsUpdate = true;
      } else {
        if (tex) {
          tex.value?.dispose?.();
          delete packed.extra[`${key}Texture`];
          rebuild = true; // the compiled generator holds the old texture uniform
        }
        if (m[key]) packed.extra[key] = m[key];
        else delete packed.extra[key];
      }
    }
    packed.needsUpdate = true;
    if (rebuild || packed.getNumSh() !== shBefore) mesh.updateGenerator(); // SH degree or SH textures changed
  }
  mesh.updateVersion();
  return mesh.version;
}

// ------------------------------------------------------------------------------------------------ drawn states
const steps = []; // seq -> {layer, chunk, refine, bytes, completes: [layers], final}
const fired = { first: false, layers: new Set(), full: false };
const pendingDraws = []; // states handed to Spark, oldest first: {seq, version, count, since}
let drawnNextFrame = null;

/** The newest version of our mesh in the accumulator Spark draws (Infinity if its internals are not as expected). */
function displayedVersion() {
  const mapping = spark.display?.mapping;
  if (!Array.isArray(mapping)) return Infinity;
  let v = -1;
  for (const e of mapping) if (e.node === mesh && e.version > v) v = e.version;
  return v;
}

function onDrawn(p) {
  const step = steps[p.seq];
  const info = { bytes: step.bytes, gaussians: p.count, layer: step.layer };
  if (!fired.first && p.count > 0) {
    fired.first = true;
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

function frame() {
  requestAnimationFrame(frame);
  controls?.update();
  renderer.render(scene, camera);
  if (drawnNextFrame) {
    onDrawn(drawnNextFrame); // this frame was rendered with that state in Spark's displayed accumulator
    drawnNextFrame = null;
  }
  if (pendingDraws.length) {
    const shown = displayedVersion();
    const now = performance.now();
    let best = null;
    // drawn: in the displayed accumulator (newer versions imply older ones); a 5 s fallback if Spark never says so
    while (pendingDraws.length && (pendingDraws[0].version <= shown || now - pendingDraws[0].since > 5000)) {
      best = pendingDraws.shift();
    }
    if (best) {
      if (params.get("debug")) console.log(`displayed seq=${best.seq} t=${now.toFixed(0)} waited=${(now - best.since).toFixed(0)}`);
      drawnNextFrame = best;
    }
  }
}
requestAnimationFrame(frame);

// ------------------------------------------------------------------------------------------------ worker
const worker = new Worker(new URL("./worker.js", import.meta.url), { type: "module", name: "splatcast-decoder" });
const waiters = new Map();
function waitFor(type) {
  return new Promise((resolve, reject) => waiters.set(type, { resolve, reject }));
}
function fail(err) {
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
    if (m.frame && !home) {
      home = opts.cam
        ? { eye: opts.cam.eye, target: opts.cam.target, up: opts.cam.up, fov: opts.cam.fov ?? opts.fov }
        : orbitCamera(m.frame, { up: opts.up, elevationDeg: opts.elevation, fovDeg: opts.fov });
      api.framing = { ...m.frame, chosenUp: opts.cam ? null : home.upName };
      applyView(home);
    }
    const version = showCloud(m);
    if (params.get("debug")) console.log(`cloud seq=${m.seq} n=${m.numSplats} t=${performance.now().toFixed(0)}`);
    api.state.gaussians = m.numSplats;
    api.state.decodeMs = m.decodeMs;
    pendingDraws.push({ seq: m.seq, version, count: m.numSplats, since: performance.now() });
    updateHud();
    return;
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

async function defaultMpd() {
  const resp = await fetch("_player/streams.json", { cache: "no-store" });
  if (resp.ok) {
    const j = await resp.json();
    if (j.default) return j.default;
    throw new Error(`no .mpd manifest in the served directory${j.streams?.length ? "" : " (none found)"}`);
  }
  return "manifest.mpd";
}

async function run() {
  let transport = await pickTransport();
  api.state.transport = transport.name;
  const estimator = new ThroughputEstimator();
  const choose = ABRS[opts.abr];
  if (!choose) throw new Error(`abr=${opts.abr}: one of ${Object.keys(ABRS).join(", ")}`);
  const mpdUrl = new URL(opts.mpd || (await defaultMpd()), location.href);
  if (mpdUrl.origin !== location.origin) throw new Error(`mpd=${opts.mpd}: only manifests on this server are played`);

  const get = async (path, range, maxBytes) => {
    const t0 = performance.now();
    let data;
    try {
      data = await transport.fetch(path, range, { maxBytes });
    } catch (err) {
      if (transport.name !== "webrtc") throw err;
      console.warn("WebRTC request failed, continuing over HTTP:", err);
      api.state.transportFallback = String(err?.message || err);
      transport.close();
      transport = new HttpTransport();
      api.state.transport = "http (fallback)";
      data = await transport.fetch(path, range, { maxBytes });
    }
    estimator.add(data.length, (performance.now() - t0) / 1000);
    api.state.requests += 1;
    api.state.throughputBps = estimator.estimateBps();
    return data;
  };

  api.state.streamStartMs = performance.now(); // the MPD request: the session clock of `splatcast play`
  const mpdBytes = await get(mpdUrl.pathname, null, 16 << 20);
  const manifest = parseMpd(new TextDecoder().decode(mpdBytes));
  const { supportedEntropy } = await workerReady; // the decoder loaded meanwhile
  if (!supportedEntropy.includes(manifest.entropy)) {
    throw new Error(
      `This stream is coded with the '${manifest.entropy}' entropy back-end, which the web player cannot decode ` +
        `(it reads ${supportedEntropy.join(", ")}). Re-encode it, e.g. splatcast encode --entropy rans.`,
    );
  }
  const media = mediaUrl(mpdUrl.href, manifest.mediaUrl).pathname;
  api.state.totalBytes = manifest.totalBytes;
  api.state.totalGaussians = manifest.layers.length ? manifest.layers[manifest.layers.length - 1].gaussians : 0;
  const header = await get(media, [manifest.headerRange[0], manifest.headerRange[1] + 1]);
  let received = header.length;
  api.state.bytes = received;
  updateHud();
  const indexReply = waitFor("index");
  const unsupported = waitFor("unsupported");
  worker.postMessage({ type: "init", header: header.buffer }, [header.buffer]);
  const reply = await Promise.race([indexReply, unsupported]);
  waiters.delete("index");
  waiters.delete("unsupported");
  if (reply.type === "unsupported") {
    throw new Error(`This stream's entropy back-end '${reply.entropy}' is not supported by the web player (${reply.supported.join(", ")}).`);
  }
  const index = reply.index;
  api.index = index;
  if (index.layers.length !== manifest.layers.length || index.totalBytes !== manifest.totalBytes) {
    throw new Error(`the .splc header (${index.layers.length} layers, ${index.totalBytes} bytes) disagrees with the MPD`);
  }
  api.state.phase = "streaming";

  const added = index.layers.map(() => 0);
  const pending = index.layers.map(() => new Set());
  let seq = 0;
  const fetched = [];
  for (const step of plan(index, choose, estimator)) {
    const data = await get(media, [step.start, step.end]);
    if (params.get("debug")) console.log(`piece ${seq} L${step.layer}c${step.chunk} ${step.kind} ${data.length}B t=${performance.now().toFixed(0)}`);
    received += data.length;
    fetched.push([step.start, step.end]);
    const j = step.layer;
    if (step.kind === "add-dc") pending[j].add(step.chunk);
    else if (step.kind === "upgrade") pending[j].delete(step.chunk);
    if (step.kind !== "upgrade") added[j] += 1;
    const completes = added[j] === index.layers[j].chunks.length && pending[j].size === 0 ? [j] : [];
    steps[seq] = {
      layer: j,
      chunk: step.chunk,
      refine: step.kind === "add-dc" ? "dc" : "full",
      kind: step.kind,
      bytes: received,
      completes,
      final: completes.length > 0 && j === index.layers.length - 1,
    };
    Object.assign(api.state, { bytes: received, layer: j, chunk: step.chunk, refine: steps[seq].refine });
    worker.postMessage({ type: "piece", seq, layer: j, chunk: step.chunk, kind: step.kind, data: data.buffer }, [data.buffer]);
    seq += 1;
    updateHud();
  }
  api.fetched = fetched;
  api.state.phase = "decoding";
  transport.close();
}

run().catch(fail);
