// Bundles the page script (matrix-js-sdk is ESM) and copies the page and the crypto WebAssembly
// next to it into dist/.
import { build } from "esbuild";
import { copyFileSync, mkdirSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const here = dirname(fileURLToPath(import.meta.url));
const dist = join(here, "dist");
const wasm = "node_modules/@matrix-org/matrix-sdk-crypto-wasm/pkg/matrix_sdk_crypto_wasm_bg.wasm";

mkdirSync(join(dist, "pkg"), { recursive: true });
await build({
    entryPoints: [join(here, "src/page.js")],
    outfile: join(dist, "app.js"),
    bundle: true,
    format: "esm",
    platform: "browser",
    target: "chrome120",
    sourcemap: true,
    logLevel: "warning",
});
copyFileSync(join(here, "src/index.html"), join(dist, "index.html"));
// The crypto package loads its WebAssembly from `./pkg/…wasm` relative to the script.
copyFileSync(join(here, wasm), join(dist, "pkg/matrix_sdk_crypto_wasm_bg.wasm"));
console.log("bundled dist/app.js");
