// Compile Vega-Lite specifications with the Vega-Lite that JupyterLab ships (package.json pins the same
// version) and render each to SVG with Vega, as JupyterLab's renderer does in the browser.
//
//   node tools/render_vega.mjs [--repeat N] SPEC.json [...]
//
// Prints one JSON array: per file its warnings (Vega-Lite's and Vega's), the SVG, and the milliseconds
// taken to compile and render it (with --repeat, the least of N runs: Vega warmed up, as in a browser
// that has drawn the chart before). Exits 1 when a specification does not compile or render.
import { readFileSync } from "node:fs";
import * as vega from "vega";
import * as vl from "vega-lite";

function collector(warnings) {
  let level = 0;
  const logger = {
    level(l) { if (l === undefined) return level; level = l; return logger; },
    error(...a) { warnings.push("error: " + a.join(" ")); return logger; },
    warn(...a) { warnings.push(a.join(" ")); return logger; },
    info() { return logger; },
    debug() { return logger; },
  };
  return logger;
}

const args = process.argv.slice(2);
let repeat = 1;
if (args[0] === "--repeat") {
  repeat = Math.max(1, parseInt(args[1], 10) || 1);
  args.splice(0, 2);
}
const results = [];
let failed = false;
for (const file of args) {
  const warnings = [];
  try {
    const spec = JSON.parse(readFileSync(file, "utf8"));
    let svg = "";
    let ms = Infinity;
    for (let i = 0; i < repeat; i++) {
      const t0 = performance.now();
      const compiled = vl.compile(spec, { logger: collector(i ? [] : warnings) }).spec;
      const view = new vega.View(vega.parse(compiled), { renderer: "none", logger: collector(i ? [] : warnings) });
      svg = await view.toSVG();
      ms = Math.min(ms, performance.now() - t0);
    }
    results.push({ file, warnings, svg, ms, vegaLite: vl.version, vega: vega.version });
  } catch (err) {
    failed = true;
    results.push({ file, warnings, error: String(err && err.stack || err) });
  }
}
console.log(JSON.stringify(results));
process.exit(failed ? 1 : 0);
