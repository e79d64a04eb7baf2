import {
  APP_DIR,
  buildInfo,
  entryWithKernels,
  workspaceEntries,
  workspaceSource,
} from '../build/workspace.js';
import type { BenchResult } from '../result.js';

/**
 * The page script with Chart.js, the suites and the qkv packages (from source), bundled for
 * the browser.
 */
export async function dashboardScript(): Promise<string> {
  // Imported when called: the single-file CLI leaves esbuild out and never builds a page.
  const { build } = await import('esbuild');
  const hasKernels = Boolean(workspaceEntries()['@qkv/kernels']);
  const out = await build({
    stdin: {
      contents: entryWithKernels('./src/dashboard/main.ts', 'startDashboard', hasKernels),
      resolveDir: APP_DIR,
      loader: 'ts',
      sourcefile: 'dashboard-entry.ts',
    },
    plugins: [workspaceSource()],
    define: { QKV_BENCH_BUILD: JSON.stringify(buildInfo()) },
    // Node-only peers (onnxruntime-node) are imported by a computed name and stay out.
    bundle: true,
    write: false,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    minify: true,
    legalComments: 'inline',
  });
  return out.outputFiles[0]!.text;
}

/** JSON that can sit inside a <script> element: no `</script>` or `<!--` can appear. */
function scriptSafeJson(value: unknown): string {
  return JSON.stringify(value).replace(/</g, '\\u003c');
}

const STYLE = `
body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #222; }
h1 { margin: 0 0 .25rem; } h2 { border-bottom: 1px solid #ccc; padding-bottom: .25rem; }
.runs { display: flex; flex-wrap: wrap; gap: 1rem; }
.run { border: 1px solid #ddd; border-radius: 6px; padding: .5rem 1rem; flex: 1 1 24rem; }
.run dl { display: grid; grid-template-columns: max-content 1fr; gap: .1rem .75rem; margin: 0; }
.run dt { color: #666; } .run dd { margin: 0; overflow-wrap: anywhere; }
.charts { display: grid; grid-template-columns: repeat(auto-fill, minmax(30rem, 1fr)); gap: 1rem; }
.chart { margin: 0; height: 22rem; position: relative; }
.chart.wide { grid-column: 1 / -1; }
table { border-collapse: collapse; font-variant-numeric: tabular-nums; }
td, th { padding: .15rem .6rem; border-bottom: 1px solid #eee; text-align: right; }
td:nth-child(2), td:nth-child(3) { text-align: left; }
.error { color: #b00020; }
.summary { margin-top: 1rem; display: grid; grid-template-columns: repeat(auto-fill, minmax(30rem, 1fr)); gap: 0 1.5rem; }
.summary h2 { grid-column: 1 / -1; }
.summary h3 { margin: .5rem 0 .1rem; } .summary ul { margin: 0; padding-left: 1.2rem; }
#live { margin-top: 2rem; border-top: 1px solid #ccc; }
#live fieldset { display: inline; border: 0; padding: 0; margin-right: 1rem; }
#live-log { background: #f6f6f6; max-height: 16rem; overflow: auto; padding: .5rem; white-space: pre-wrap; }
`;

/** A self-contained page (no network, opens from file://) drawing `results`. */
export async function dashboardHtml(results: readonly BenchResult[]): Promise<string> {
  const script = await dashboardScript();
  return `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>qkv benchmarks</title>
<style>${STYLE}</style>
</head>
<body>
<h1>qkv benchmarks</h1>
<p>Median time per call; peers measured in the same run. Add result files to compare runs:
<input id="files" type="file" accept=".json,application/json" multiple></p>
<div id="errors"></div>
<div id="app"></div>
<section id="live"></section>
<script type="application/json" id="qkv-bench-data">${scriptSafeJson(results)}</script>
<script>${script.replace(/<\/script/gi, '<\\/script')}</script>
</body>
</html>
`;
}
