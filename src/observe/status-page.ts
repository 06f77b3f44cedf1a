/**
 * The status page (GET /status): one HTML document, no build step and no external resources; its script
 * reads /status.json every two seconds and renders it. Text goes in through textContent only.
 */
export const STATUS_PAGE = `<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>streamscore status</title>
<style>
  body { font: 14px/1.4 system-ui, sans-serif; margin: 1.5rem; color: #1d2330; background: #f7f8fa; }
  h1 { font-size: 1.3rem; margin: 0 0 .2rem; }
  h2 { font-size: 1rem; margin: 1.4rem 0 .4rem; }
  .muted { color: #667085; }
  .badge { display: inline-block; padding: .1rem .6rem; border-radius: 1rem; font-weight: 600; }
  .ok { background: #d1fadf; color: #05603a; }
  .bad { background: #fee4e2; color: #912018; }
  table { border-collapse: collapse; background: #fff; min-width: 40rem; }
  th, td { border-bottom: 1px solid #e4e7ec; padding: .3rem .7rem; text-align: right; }
  th:first-child, td:first-child { text-align: left; }
  th { background: #f2f4f7; font-weight: 600; }
  tr.stalled td, tr.quarantined td, tr.drifting td { background: #fef3f2; }
  ul#problems { margin: .4rem 0; color: #912018; }
  code { font-size: 12px; }
</style>
</head>
<body>
<h1>streamscore <span id="pipeline"></span> <span id="state" class="badge">…</span></h1>
<div class="muted"><span id="instance"></span> · up <span id="uptime"></span> · <span id="committed"></span> windows committed · updated <span id="updated"></span></div>
<ul id="problems"></ul>
<h2>Model</h2>
<div id="model"></div>
<h2>Partitions</h2>
<table id="partitions"><thead><tr><th>partition</th><th>lag</th><th>last commit</th><th>stalled</th></tr></thead><tbody></tbody></table>
<h2>Recent windows</h2>
<table id="windows"><thead><tr><th>closed</th><th>partition</th><th>offsets</th><th>records</th><th>scored</th><th>emitted</th><th>DLQ</th><th>open ms</th><th>slowest stages</th></tr></thead><tbody></tbody></table>
<h2>Dead-letter records since start</h2>
<table id="dlq"><thead><tr><th>input topic</th><th>records</th></tr></thead><tbody></tbody></table>
<h2>Drift <span class="muted" id="drift-note"></span></h2>
<table id="drift"><thead><tr><th>feature</th><th>PSI (horizon)</th><th>PSI (last window)</th><th>KS</th><th>drifting</th></tr></thead><tbody></tbody></table>
<script>
  const $ = (id) => document.getElementById(id);
  const ago = (t, now) => (t === null ? '–' : Math.max(0, Math.round((now - t) / 1000)) + ' s ago');
  function row(cells, attrs) {
    const tr = document.createElement('tr');
    for (const [k, v] of Object.entries(attrs || {})) tr.setAttribute(k, v);
    for (const c of cells) { const td = document.createElement('td'); td.textContent = String(c); tr.appendChild(td); }
    return tr;
  }
  function fill(tableId, rows) { const body = $(tableId).tBodies[0]; body.replaceChildren(...rows); }
  function render(s) {
    $('pipeline').textContent = s.pipeline;
    $('state').textContent = s.ready ? 'ready' : 'not ready';
    $('state').className = 'badge ' + (s.ready ? 'ok' : 'bad');
    $('instance').textContent = s.instance;
    $('uptime').textContent = Math.round((s.now - s.startedAt) / 1000) + ' s';
    $('committed').textContent = String(s.committedWindows) + (s.quarantinedWindows > 0 ? ' (' + s.quarantinedWindows + ' quarantined)' : '');
    $('updated').textContent = new Date(s.now).toLocaleTimeString();
    $('problems').replaceChildren(...s.problems.map((p) => { const li = document.createElement('li'); li.textContent = p; return li; }));
    $('model').textContent = Object.entries(s.model).map(([k, v]) => k + ' ' + v).join(' · ');
    fill('partitions', s.partitions.map((p) => row(
      [p.partition, p.lag === null ? '–' : p.lag, ago(p.lastCommitAt, s.now), p.stalledForMs === null ? 'no' : Math.round(p.stalledForMs / 1000) + ' s'],
      { 'data-partition': p.partition, class: p.stalledForMs === null ? '' : 'stalled' })));
    fill('windows', s.windows.map((w) => {
      const slow = Object.entries(w.stageMs).sort((a, b) => b[1] - a[1]).slice(0, 3).map(([k, v]) => k + ' ' + Math.round(v)).join(', ');
      return row([new Date(w.closedAt).toLocaleTimeString(), w.topic + '/' + w.partition,
        w.firstOffset + '–' + w.lastOffset, w.counts.received, w.counts.entities_scored, w.counts.emitted,
        w.counts.invalid, w.openMs, slow], { 'data-batch': w.batchId, title: w.batchId + ' ' + w.outcome, class: w.outcome === 'QUARANTINED' ? 'quarantined' : '' });
    }));
    const dlq = Object.entries(s.dlq);
    fill('dlq', dlq.length === 0 ? [row(['none', 0])] : dlq.map(([t, n]) => row([t, n], { 'data-dlq': t })));
    const d = s.drift;
    $('drift-note').textContent = d === null ? '(no scored rows yet, or drift off)' : 'over the last ' + d.rows + ' scored rows; score PSI ' + d.score_psi_reference.toFixed(3);
    const f3 = (x) => (x === null ? '–' : x.toFixed(3));
    fill('drift', d === null ? [] : d.features.map((f) => row([f.name, f3(f.psi), f3(f.psi_window), f3(f.ks), f.flagged ? 'yes' : 'no'],
      { 'data-feature': f.name, class: f.flagged ? 'drifting' : '' })));
  }
  async function refresh() {
    try {
      const res = await fetch('status.json', { cache: 'no-store' });
      render(await res.json());
    } catch (err) {
      $('state').textContent = 'unreachable';
      $('state').className = 'badge bad';
    }
  }
  refresh();
  setInterval(refresh, 2000);
</script>
</body>
</html>
`;
