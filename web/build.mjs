// Bundles the web player into the Python package (src/splatcast/player/static/): the page, its script (session,
// transports, ABR, HUD), the renderer chunk it imports dynamically (three.js + Spark) and the decode worker (the
// .splc decoder). Nothing is loaded from a CDN at run
// time: Spark inlines its WASM and its own worker, three's addons resolve to node_modules/three/examples/jsm.
//
//   node build.mjs            (npm run build)       minified bundles + index.html
//   node build.mjs --dev      readable bundles with inline source maps
import { build } from "esbuild";
import { copyFileSync, mkdirSync, readdirSync, rmSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";
import { buildKernels } from "./build-kernels.mjs";

const here = dirname(fileURLToPath(import.meta.url));
const out = resolve(here, "..", "src", "splatcast", "player", "static");
const dev = process.argv.includes("--dev");
const decoderDir = resolve(process.env.SPLATCAST_DECODER_DIR || join(here, "src", "decoder"));

if (!existsSync(join(decoderDir, "index.mjs"))) {
  console.error(`build.mjs: no decoder at ${decoderDir}/index.mjs (web/src/decoder)`);
  process.exit(1);
}

const NODE_BUILTINS = /^(node:.*|fs|fs\/promises|path|url|module|os|worker_threads|crypto|zlib|util|stream|buffer)$/;

// `three/addons/...` (used by Spark) is three's examples/jsm; the decoder can be redirected for experiments.
const aliases = {
  name: "splatcast-aliases",
  setup(b) {
    b.onResolve({ filter: /^three\/addons\// }, (args) => ({
      path: resolve(here, "node_modules", "three", "examples", "jsm", args.path.slice("three/addons/".length)),
    }));
    b.onResolve({ filter: /(^|\/)decoder\/index\.mjs$/ }, () => ({ path: join(decoderDir, "index.mjs") }));
    // Node built-ins reached only on Node code paths of shared modules (the decoder also runs under Node):
    // an empty CommonJS module in the browser bundle, so that nothing outside the bundle is ever imported
    b.onResolve({ filter: NODE_BUILTINS }, (args) => ({ path: args.path, namespace: "node-builtin-stub" }));
    b.onLoad({ filter: /.*/, namespace: "node-builtin-stub" }, () => ({ contents: "module.exports = {};", loader: "js" }));
  },
};

// the decoder's WebAssembly kernels (src/kernels/*.ts) into src/decoder/generated/, which the worker bundle inlines
await buildKernels();

// build next to the target and swap it in at the end: a failed build leaves the previous one in place
const final = out;
const staging = `${final}.building`;
rmSync(staging, { recursive: true, force: true });
mkdirSync(staging, { recursive: true });
const common = {
  bundle: true,
  format: "esm",
  target: ["es2022"],
  minify: !dev,
  sourcemap: dev ? "inline" : false,
  legalComments: "linked",
  logLevel: "warning",
  plugins: [aliases],
  define: { "process.env.NODE_ENV": dev ? '"development"' : '"production"' },
  platform: "browser",
};
try {
  // the page (player.js) and, split off by its dynamic import, the renderer (view-HASH.js): the page starts the
  // stream while the browser still fetches and compiles three.js and Spark
  await build({
    ...common, entryPoints: { player: join(here, "src", "player", "main.mjs") }, outdir: staging, splitting: true,
    chunkNames: "[name]-[hash]",
  });
  await build({ ...common, entryPoints: [join(here, "src", "player", "worker.mjs")], outfile: join(staging, "worker.js") });
} catch {
  rmSync(staging, { recursive: true, force: true });
  console.error("build.mjs: esbuild failed (the previous build, if any, is unchanged)");
  process.exit(1);
}
// index.html preloads the chunks the page shares with the renderer (player.js cannot run, nor start the decode
// worker, before they are in) and the renderer chunk (fetched and compiled while the stream starts; evaluated
// when imported)
const viewChunk = readdirSync(staging).find((f) => /^view-[A-Z0-9]+\.js$/.test(f));
const sharedChunks = readdirSync(staging).filter((f) => /^chunk-[A-Z0-9]+\.js$/.test(f)).sort();
if (!viewChunk) {
  console.error("build.mjs: no view-HASH.js chunk in the output");
  process.exit(1);
}
const html = readFileSync(join(here, "src", "player", "index.html"), "utf8");
if (!html.includes("<!-- preload -->")) {
  console.error("build.mjs: index.html lacks the <!-- preload --> marker");
  process.exit(1);
}
writeFileSync(join(staging, "index.html"), html.replace("<!-- preload -->", [...sharedChunks, viewChunk].map((f) => `<link rel="modulepreload" href="_player/${f}">`).join("\n")));
copyFileSync(join(here, "src", "player", "player.css"), join(staging, "player.css"));
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
writeFileSync(join(staging, "build.json"), JSON.stringify({ version: pkg.version, dev, built: new Date().toISOString() }) + "\n");
rmSync(final, { recursive: true, force: true });
renameSync(staging, final);
console.log(`player built into ${final}`);
