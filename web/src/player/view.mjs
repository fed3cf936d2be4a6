// The view: three.js + Spark, the camera and its controls. It is loaded by a dynamic import so that the page can
// start the stream (worker, MPD, header, first chunk) while this large module is fetched, compiled and its
// shaders built; see main.mjs.
import * as THREE from "three";
import { OrbitControls } from "three/examples/jsm/controls/OrbitControls.js";
import { SparkRenderer, SplatMesh, PackedSplats } from "@sparkjsdev/spark";
import { parseUp, verticalFovDeg } from "./camera.mjs";

/**
 * @param {HTMLCanvasElement} canvas
 * @param {{fov: number, dpr: number}} opts
 * @param {(rendered: boolean) => void} afterFrame called on every animation frame, with whether one was drawn
 */
export function createView(canvas, opts, afterFrame) {
  const renderer = new THREE.WebGLRenderer({ canvas, antialias: false, preserveDrawingBuffer: true, alpha: false });
  renderer.setPixelRatio(opts.dpr);
  renderer.setClearColor(0x000000, 1);
  const scene = new THREE.Scene();
  // splatcast's renderer: 3-sigma cut, 0.3 px^2 low-pass added to the 2D covariance, alpha >= 1/255, z-depth order
  // Frames are drawn on demand, not on every animation frame: when the camera moves, a cloud is handed over, the
  // canvas is resized or Spark says its sort (or display) changed (onDirty). A still view costs nothing, and under
  // a software GPU (seconds per frame at 500k splats) redrawing it continuously starved Spark's own sort and the
  // decoder of CPU.
  let needsRender = true;
  const requestRender = () => { needsRender = true; };
  const spark = new SparkRenderer({
    renderer, maxStdDev: 3, preBlurAmount: 0.3, blurAmount: 0, minAlpha: 1 / 255, sortRadial: false, onDirty: requestRender,
  });
  scene.add(spark);
  const camera = new THREE.PerspectiveCamera(opts.fov, 1, 0.01, 1000);
  let controls = null;
  let fovShort = opts.fov;

  function resize() {
    const w = canvas.clientWidth || window.innerWidth;
    const h = canvas.clientHeight || window.innerHeight;
    renderer.setSize(w, h, false);
    camera.aspect = w / h;
    camera.fov = verticalFovDeg(fovShort, w, h);
    camera.updateProjectionMatrix();
    requestRender();
  }
  window.addEventListener("resize", resize);
  resize();

  /** Point the camera at view {eye, target, up, fov}; returns the camera description the page reports. */
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
    controls.addEventListener("change", requestRender);
    controls.update();
    return { eye: view.eye, target: view.target, up, fov: fovShort };
  }

  // Compile Spark's programs while the stream is in flight: one invisible placeholder splat.
  const words = new Uint32Array(2048 * 4); // splat 0: centre (0, 0, 0), opacity 0, zero scales: nothing visible
  const packed = new PackedSplats({ packedArray: words, numSplats: 1 });
  const mesh = new SplatMesh({ packedSplats: packed });
  scene.add(mesh);
  // Start Spark's sort worker now, beside the first frame's shader compile, instead of on its first sort: Spark 2.2
  // creates it lazily, and that sort (the placeholder's) holds the first cloud's generate back until it is done.
  // The same worker class as its LoD worker, which a stream without LoD never uses; skipped if Spark changes.
  if (spark.sortWorker === null && typeof spark.ensureLodWorker === "function" && spark.lodWorker == null) {
    spark.sortWorker = spark.ensureLodWorker();
    spark.lodWorker = null;
  }

  /**
   * Hand a packed cloud to Spark, updating the one PackedSplats in place (scene, renderer and mesh stay). While the
   * capacity is unchanged the words are copied into Spark's own arrays (Spark re-uploads the same texture; giving
   * it a different buffer of the same size would make it upload a Uint8Array view, which WebGL refuses for
   * RGBA32UI). Returns the mesh version that shows this cloud.
   */
  function showCloud(m) {
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
    mesh.updateVersion();
    // generate and sort the new state without drawing the old one again (the sort's end asks for the frame)
    spark.update({ scene, camera }).catch((err) => {
      console.warn("Spark update failed, drawing instead:", err);
      requestRender();
    });
    return mesh.version;
  }

  /** The newest version of our mesh in the accumulator Spark draws (Infinity if its internals are not as expected). */
  function displayedVersion() {
    const mapping = spark.display?.mapping;
    if (!Array.isArray(mapping)) return Infinity;
    let v = -1;
    for (const e of mapping) if (e.node === mesh && e.version > v) v = e.version;
    return v;
  }

  function frame() {
    requestAnimationFrame(frame);
    const rendered = needsRender || spark.dirty;
    if (rendered) {
      needsRender = false;
      renderer.render(scene, camera);
    }
    afterFrame(rendered);
  }
  requestAnimationFrame(frame);

  /** The camera now, for view-aware fetching: {viewProj: column-major 4x4 (projection x view), eye}. */
  const viewProj = new THREE.Matrix4();
  function cameraState() {
    camera.updateMatrixWorld();
    viewProj.multiplyMatrices(camera.projectionMatrix, camera.matrixWorldInverse);
    return { viewProj: Array.from(viewProj.elements), eye: camera.position.toArray() };
  }

  return { applyView, showCloud, displayedVersion, cameraState };
}
