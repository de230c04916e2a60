// The HTML report of a run (results/<run-id>/report.html): rendering in
// lab/report/*, pure; this module is what the rest of the lab imports.
export { renderReport, type ReportOptions } from './report/render.js';
export { cmdReport, loadRun, REPORT_HELP, runJsonOf, writeReport } from './report/cmd.js';
