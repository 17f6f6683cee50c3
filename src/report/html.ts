/**
 * The report a person opens: one self-contained HTML file (styles and plots inline, no script,
 * nothing fetched) with the scenario and what produced the results, the ranked table, the
 * plots and, after a sweep, its regimes. It is built from the files a run writes (summary.csv,
 * run.json, sweep.csv, sweep.json), so `splitsim report DIR` rebuilds the same page.
 */
import { analyzeSweep, type SweepAnalysis, type SweepMeta } from '../sweep/analyze';
import { OBJECTIVE_COLUMNS, type Decision, type Objective } from './decision';
import { renderSvg, runPlots, type Plot } from './plots';
import { readRows } from './read';
import type { SummaryRow } from './summary';
import { decisionLine, rankedCells } from './table';

/** The parts of run.json the report shows (written by simulate). */
export interface RunRecord {
  command?: string;
  splitsim_version?: string;
  node_version?: string;
  scenario_file?: string;
  seed?: number;
  backend?: string | null;
  device_profile?: string | null;
  edge_profile?: string | null;
  radio?: { name?: string } | null;
  reference?: string | null;
  decision?: { objective?: Objective; accuracy_floor?: number | null; accuracy_floor_reason?: string | null; max_miss_ratio?: number; deadline_ms?: number | null; best?: string | null };
  warnings?: string[];
  measurement?: { samples?: number; seed?: number; dataset_hash?: string; models?: Array<{ name: string; hash: string }>; codec_costs?: string } | null;
  scenario?: Record<string, unknown> & { name?: string; description?: string };
}

/** What the report is built from. */
export interface ReportInput {
  summaryCsv: string;
  run: RunRecord;
  sweep?: { csv: string; meta: SweepMeta };
}

/** The report's files (relative paths → content) and, for a sweep, what it found. */
export interface ReportOutput {
  files: Array<[string, string]>;
  sweep?: SweepAnalysis;
}

const esc = (s: unknown): string => String(s).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

/** A link spec in one line: 'markov, 3 states (10.6/5.7/2.4 Mbit/s), 35 ms, tcp'. */
function linkText(l: unknown): string {
  if (!l || typeof l !== 'object') return '-';
  const s = l as Record<string, unknown> & { states?: Array<{ rateBps: number }>; delivery?: { mode?: string }; loss?: { model?: string; p?: number } };
  const mbit = (b: number) => `${Number((b / 1e6).toPrecision(3))} Mbit/s`;
  const parts = [String(s.type)];
  if (typeof s.rateBps === 'number') parts.push(mbit(s.rateBps));
  if (s.states) parts.push(`${s.states.length} states (${s.states.map((x) => mbit(x.rateBps)).join(' / ')})`);
  if (typeof s.file === 'string') parts.push(String(s.file).split('/').pop()!);
  if (typeof s.delayMs === 'number') parts.push(`${s.delayMs} ms one way`);
  if (s.loss?.model && s.loss.model !== 'none') parts.push(`loss ${s.loss.model}${s.loss.p !== undefined ? ` p=${s.loss.p}` : ''}`);
  if (s.delivery?.mode) parts.push(s.delivery.mode);
  if (typeof s.sharing === 'string' && s.sharing !== 'per-device') parts.push(`shared (${s.sharing})`);
  return parts.join(', ');
}

function provenance(run: RunRecord): Array<[string, string]> {
  const sc = run.scenario ?? {};
  const dev = (sc.devices ?? {}) as { count?: number; arrival?: Record<string, unknown> };
  const edge = (sc.edge ?? {}) as { workers?: number; maxBatch?: number; maxWaitMs?: number };
  const arrival = dev.arrival ? Object.entries(dev.arrival).map(([k, v]) => `${k} ${typeof v === 'object' ? JSON.stringify(v) : v}`).join(', ') : '-';
  const m = run.measurement;
  const d = run.decision ?? {};
  return [
    ['scenario', `${sc.name ?? '-'}${sc.description ? `: ${sc.description}` : ''}`],
    ['scenario file', run.scenario_file ?? '-'],
    ['devices', `${dev.count ?? '-'} x ${run.device_profile ?? '(no profile)'}; arrivals: ${arrival}; radio: ${run.radio?.name ?? 'none'}`],
    ['uplink', linkText(sc.uplink)],
    ['downlink', linkText(sc.downlink)],
    ['edge server', `${run.edge_profile ?? '(no profile)'}, ${edge.workers ?? 1} worker(s), batches up to ${edge.maxBatch ?? 1}, wait ${edge.maxWaitMs ?? 0} ms`],
    ['deadline', d.deadline_ms ? `${d.deadline_ms} ms` : 'none'],
    ['decision', `objective ${d.objective ?? '-'}; top-1 floor ${typeof d.accuracy_floor === 'number' ? `${(100 * d.accuracy_floor).toFixed(2)}% (${d.accuracy_floor_reason})` : 'none'}; at most ${(100 * (d.max_miss_ratio ?? 0)).toFixed(1)}% late or dropped`],
    ['measurement', m ? `${m.samples} test samples (seed ${m.seed}), dataset ${m.dataset_hash}, codec costs ${m.codec_costs}` : 'nothing measured (declared pipelines)'],
    ['models', m?.models?.map((x) => `${x.name} ${x.hash}`).join('; ') || '-'],
    ['seed', String(run.seed ?? '-')],
    ['splitsim', `${run.splitsim_version ?? '-'} (node ${run.node_version ?? '-'}), ${String(run.backend ?? '').includes('onnxruntime') ? `backend ${run.backend}` : `tfjs backend ${run.backend ?? '-'}`}`],
  ];
}

/** The decision paragraph, from the ranked rows and what run.json says about the constraints. */
function decisionText(rows: SummaryRow[], run: RunRecord): string {
  const d = run.decision ?? {};
  const objective = d.objective ?? 'latency';
  const best = rows.find((r) => r.best === 1);
  const decision: Decision = {
    rows,
    best,
    accuracyFloor: typeof d.accuracy_floor === 'number' ? d.accuracy_floor : undefined,
    floorReason: d.accuracy_floor_reason ?? undefined,
    objectiveColumn: OBJECTIVE_COLUMNS[objective],
    maxMissRatio: d.max_miss_ratio ?? 0,
  };
  return decisionLine(decision);
}

function table(rows: SummaryRow[]): string {
  const t = rankedCells(rows);
  const head = t.headers.map((h, j) => `<th${t.left.includes(j) || j === 0 ? ' class="l"' : ''}>${esc(h)}</th>`).join('');
  const body = t.cells.map((c, i) => `<tr data-pipeline="${esc(rows[i].pipeline)}"${rows[i].best === 1 ? ' class="best"' : ''}>${c.map((x, j) => `<td${t.left.includes(j) || j === 0 ? ' class="l"' : ''}>${esc(x)}</td>`).join('')}</tr>`).join('\n');
  return `<table id="ranked"><thead><tr>${head}</tr></thead><tbody>\n${body}\n</tbody></table>`;
}

function figure(p: Plot, svg: string): string {
  return `<figure class="plot" id="plot-${esc(p.name)}" data-plot="${esc(p.name)}">\n${svg}\n<figcaption><b>${esc(p.title)}.</b> ${esc(p.caption)} Spec: <code>plots/${esc(p.name)}.vl.json</code>.</figcaption></figure>`;
}

const STYLE = `body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:2em auto;max-width:1200px;padding:0 1em;color:#222}
h1{font-size:1.5em}h2{font-size:1.2em;margin-top:2em;border-bottom:1px solid #ddd}
table{border-collapse:collapse;font-size:12px}td,th{padding:2px 6px;text-align:right;white-space:nowrap}td.l,th.l{text-align:left}
tbody tr:nth-child(even){background:#f6f6f6}tr.best{font-weight:bold;background:#e8f4e8!important}
table.prov td:first-child{font-weight:bold;text-align:left;vertical-align:top}table.prov td{text-align:left;white-space:normal}
figure{margin:1.5em 0}figure svg{max-width:100%;height:auto}figcaption{font-size:13px;color:#444;max-width:900px}
pre{background:#f6f6f6;padding:.8em;overflow-x:auto;font-size:12px}ul.regimes li{margin:.4em 0}`;

/** Builds report.html and the plot files from the CSV and JSON files of a run (and sweep). */
export async function buildReport(inp: ReportInput): Promise<ReportOutput> {
  const rows = readRows(inp.summaryCsv, 'summary.csv');
  const plots = runPlots(rows);
  let sweep: SweepAnalysis | undefined;
  if (inp.sweep) {
    sweep = analyzeSweep(readRows(inp.sweep.csv, 'sweep.csv'), inp.sweep.meta);
    plots.push(...sweep.plots);
  }
  const files: Array<[string, string]> = [];
  const svgs = new Map<string, string>();
  for (const p of plots) {
    const svg = await renderSvg(p.spec);
    svgs.set(p.name, svg);
    files.push([`plots/${p.name}.svg`, svg], [`plots/${p.name}.vl.json`, JSON.stringify(p.spec, null, 1) + '\n']);
  }
  const run = inp.run;
  const name = run.scenario?.name ?? 'scenario';
  const fig = (p: Plot) => figure(p, svgs.get(p.name)!);
  const parts: string[] = [
    '<!DOCTYPE html>',
    '<html lang="en"><head><meta charset="utf-8">',
    `<title>splitsim report: ${esc(name)}</title>`,
    `<style>${STYLE}</style></head><body>`,
    `<h1>splitsim report: ${esc(name)}</h1>`,
    '<h2>Scenario and provenance</h2>',
    `<table class="prov" id="provenance">${provenance(run).map(([k, v]) => `<tr><td>${esc(k)}</td><td>${esc(v)}</td></tr>`).join('\n')}</table>`,
  ];
  if (run.warnings && run.warnings.length > 0) {
    parts.push(`<p>${run.warnings.length} warning(s):</p><ul>${run.warnings.slice(0, 20).map((w) => `<li>${esc(w)}</li>`).join('')}${run.warnings.length > 20 ? `<li>... and ${run.warnings.length - 20} more</li>` : ''}</ul>`);
  }
  parts.push('<h2>Decision</h2>', `<p id="decision">${esc(decisionText(rows, run))}</p>`);
  parts.push(`<h2>Ranked pipelines (${rows.length})</h2>`, table(rows));
  parts.push('<h2>Plots</h2>', ...plots.filter((p) => !sweep?.plots.includes(p)).map(fig));
  if (sweep) {
    const m = inp.sweep!.meta;
    parts.push('<h2>Sweep</h2>');
    if (m.seed !== run.seed || m.scenario !== name) parts.push(`<p><b>Note:</b> the sweep (scenario ${esc(m.scenario)}, seed ${m.seed}) was run from other settings than the table above (scenario ${esc(name)}, seed ${esc(run.seed)}).</p>`);
    parts.push(`<p>${esc(sweep.text.split('\n')[0])}</p>`);
    for (const n of m.notes) parts.push(`<p>Note: ${esc(n)}</p>`);
    parts.push('<ul class="regimes" id="regimes">');
    for (const f of sweep.findings) {
      if (f.line !== undefined) {
        const cx = f.crossovers!.length > 0 ? `<ul>${f.crossovers!.map((c) => `<li>crossover at ${esc(c.text)}</li>`).join('')}</ul>` : '';
        parts.push(`<li><b>${esc(f.name)}:</b> ${esc(f.line)}${cx}</li>`);
      } else {
        parts.push(`<li><b>${esc(f.name)}:</b><pre>${esc(f.mapText)}</pre></li>`);
      }
    }
    parts.push('</ul>', ...sweep.plots.map(fig));
    parts.push('<p>Every row of the sweep, with every summary column, is in <code>sweep.csv</code>; how it was varied and the regimes in <code>sweep.json</code>.</p>');
  }
  parts.push('</body></html>');
  files.push(['report.html', parts.join('\n') + '\n']);
  return { files, sweep };
}
