// Bundles the web player into the Python package (src/splatcast/player/static/): the page, the main bundle
// (three.js + Spark + page logic) and the decode worker (the .splc decoder). Nothing is loaded from a CDN at run
// time: Spark inlines its WASM and its own worker, three's addons resolve to node_modules/three/examples/jsm.
//
//   node build.mjs            (npm run build)       minified bundles + index.html
//   node build.mjs --dev      readable bundles with inline source maps
import { build } from "esbuild";
import { copyFileSync, mkdirSync, rmSync, readFileSync, renameSync, writeFileSync, existsSync } from "node:fs";
import { dirname, join, resolve } from "node:path";
import { fileURLToPath } from "node:url";

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
  await build({ ...common, entryPoints: [join(here, "src", "player", "main.mjs")], outfile: join(staging, "player.js") });
  await build({ ...common, entryPoints: [join(here, "src", "player", "worker.mjs")], outfile: join(staging, "worker.js") });
} catch {
  rmSync(staging, { recursive: true, force: true });
  console.error("build.mjs: esbuild failed (the previous build, if any, is unchanged)");
  process.exit(1);
}
copyFileSync(join(here, "src", "player", "index.html"), join(staging, "index.html"));
copyFileSync(join(here, "src", "player", "player.css"), join(staging, "player.css"));
const pkg = JSON.parse(readFileSync(join(here, "package.json"), "utf8"));
writeFileSync(join(staging, "build.json"), JSON.stringify({ version: pkg.version, dev, built: new Date().toISOString() }) + "\n");
rmSync(final, { recursive: true, force: true });
renameSync(staging, final);
console.log(`player built into ${final}`);
