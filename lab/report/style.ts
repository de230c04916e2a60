// The report's only style sheet, inlined: system fonts, nothing to fetch.
// Colours always come with the word they stand for.
export const CSS = `
body{font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif;margin:0 auto;max-width:1200px;padding:16px 24px;color:#1b1f24;background:#fff}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;border-bottom:2px solid #d0d7de;padding-bottom:4px;margin-top:32px}
h3{font-size:16px;margin:20px 0 6px}h4{font-size:14px;margin:14px 0 6px}h5{font-size:14px;margin:8px 0 4px;font-weight:600}
a{color:#0645ad}small{color:#57606a}.muted{color:#8c959f}.note{color:#57606a;font-size:12px}
table{border-collapse:collapse;margin:6px 0}th,td{border:1px solid #d0d7de;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f6f8fa}table.times td:not(:first-child),table.metrics td:nth-child(3){text-align:right;font-variant-numeric:tabular-nums}
td.cell small,td.cell .badge{display:block}td.cell small{font-size:11px;margin-bottom:4px}td.jobs div{margin-bottom:6px}
.badge{display:inline-block;padding:1px 7px;border-radius:10px;font-weight:600;font-size:12px;text-decoration:none;border:1px solid rgba(0,0,0,.15);color:#111;width:max-content}
.v-pass{background:#aceebb}.v-fail,.v-error{background:#ffb3b3}.v-skip,.v-not-run{background:#e1e4e8}
.v-kernel-splat{background:#7a1f5c;color:#fff}.v-timeout{background:#ffc46b}.v-boot-failed,.v-build-failed{background:#ff8a80}
.v-infra-error{background:#c8b7ff}.v-running,.v-queued{background:#fff3b0}
.lv-none{background:#e1e4e8}.lv-source{background:#f0f4ff}.lv-build{background:#dbe7ff}.lv-load{background:#c3d8ff}
.lv-functional{background:#b6e8c3}.lv-stress{background:#7fd699}.lv-perf{background:#3fb868;color:#fff}
dl.facts{display:grid;grid-template-columns:max-content auto;gap:2px 12px;margin:6px 0}dl.facts dt{color:#57606a}dl.facts dd{margin:0}
pre{background:#f6f8fa;border:1px solid #d0d7de;padding:8px;overflow-x:auto;font:12px/1.35 ui-monospace,"DejaVu Sans Mono",monospace;white-space:pre;margin:4px 0}
pre.console{background:#1e1e1e;color:#e6e6e6;white-space:pre-wrap;overflow-wrap:anywhere}
.splat{margin:8px 0}.splat-head{font-weight:600}.reason{margin:4px 0;font-style:italic}
ul.problems li{color:#8b0000}.ea{display:grid;grid-template-columns:1fr 1fr;gap:8px}.ea pre{white-space:pre-wrap}
section.job{border:1px solid #d0d7de;border-radius:6px;padding:4px 14px 12px;margin:14px 0}
svg.chart{display:block;margin:8px 0;max-width:100%;height:auto;font:12px ui-monospace,"DejaVu Sans Mono",monospace}
svg .ct{font:600 13px system-ui,sans-serif;fill:#1b1f24}svg .lbl,svg .val{fill:#1b1f24}svg .tick{fill:#57606a;font-size:11px}
svg .grid{stroke:#e1e4e8}svg .whisker{stroke:#1b1f24;stroke-width:1.5}svg .ref{stroke:#b00020;stroke-dasharray:4 3;stroke-width:1.5}
svg .bar.nexus{fill:#4c78a8}svg .bar.linux{fill:#f2a541}svg .bar.other{fill:#9aa5b1}svg .bar.faster{fill:#54a24b}svg .bar.slower{fill:#e45756}
.legend span{display:inline-block;width:12px;height:12px;margin:0 4px 0 12px;vertical-align:middle}
.cmp li{margin:2px 0}
`;
