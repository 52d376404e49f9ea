/** The HTML report's style sheet, inlined (the report makes no requests: system fonts only). */
export const REPORT_CSS = `
:root{--red:#b42318;--red-bg:#fef3f2;--green:#067647;--green-bg:#ecfdf3;--amber:#b54708;--amber-bg:#fffaeb;--grey:#667085;--line:#e4e7ec;--ink:#101828;--muted:#667085}
*{box-sizing:border-box}
body{margin:0;font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,sans-serif;color:var(--ink);background:#f9fafb}
main{max-width:1440px;margin:0 auto;padding:24px}
h1{font-size:20px;margin:0 0 16px}h1 .name{font-weight:400;color:var(--muted);overflow-wrap:anywhere}
h2{font-size:17px;margin:32px 0 12px;padding-bottom:4px;border-bottom:1px solid var(--line)}
h3{font-size:14px;margin:20px 0 8px}
.banner{border-radius:8px;padding:16px 20px;border:2px solid}
.banner p{margin:4px 0}.banner .result{font-size:26px;font-weight:800;letter-spacing:.02em}
.banner .policy span{display:block;font-weight:600}
.banner.pass{background:var(--green-bg);border-color:var(--green);color:var(--green)}
.banner.fail{background:var(--red-bg);border-color:var(--red);color:var(--red)}
.banner.error{background:var(--amber-bg);border-color:var(--amber);color:var(--amber)}
.banner .detail,.banner .partial{color:var(--ink)}
figure{margin:0;background:#fff;border:1px solid var(--line);border-radius:8px;padding:8px}
figcaption{font-size:12px;color:var(--muted);padding:4px 8px}figcaption p{margin:4px 0}
.world-map{display:block;width:100%;height:auto}
.world-map .sphere{fill:#eef4fb;stroke:#d0d5dd;stroke-width:.5}
.world-map .land{fill:#e4e7ec;stroke:#fff;stroke-width:.4}
.world-map .fill{stroke:#fff;stroke-width:.4;fill-opacity:.35}
.world-map .fill.violation{fill:var(--red)}.world-map .fill.warning{fill:#f79009}.world-map .fill.allowed{fill:#12b76a}.world-map .fill.blocked{fill:var(--grey)}
.world-map .arc{fill:none;stroke-linecap:round;stroke-opacity:.8}
.world-map .arc.violation{stroke:var(--red)}.world-map .arc.warning{stroke:#f79009}.world-map .arc.allowed{stroke:#12b76a}.world-map .arc.blocked{stroke:var(--grey);stroke-dasharray:4 3}
.world-map .dot{stroke:#fff;stroke-width:.8}
.world-map .dot.violation{fill:var(--red)}.world-map .dot.warning{fill:#f79009}.world-map .dot.allowed{fill:#12b76a}.world-map .dot.blocked{fill:var(--grey)}
.world-map .origin circle{fill:none;stroke:#1d2939;stroke-width:2}.world-map .origin .core{fill:#1d2939}
.key{display:inline-block;width:14px;height:4px;border-radius:2px;vertical-align:middle;margin:0 2px 0 8px}
.key.violation{background:var(--red)}.key.warning{background:#f79009}.key.allowed{background:#12b76a}.key.blocked{background:var(--grey)}
.key.origin-key{width:10px;height:10px;border-radius:50%;border:2px solid #1d2939;margin-left:0}
table{border-collapse:collapse;width:100%;background:#fff;border:1px solid var(--line);font-size:13px}
th,td{padding:5px 8px;border-bottom:1px solid var(--line);text-align:left;vertical-align:top}
th{background:#f2f4f7;font-weight:600;white-space:nowrap}
td.n{text-align:right;white-space:nowrap;font-variant-numeric:tabular-nums}
td.ip,.ip{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;white-space:nowrap}
.name{overflow-wrap:break-word}.names .name{display:inline-block;margin-right:6px}
td.rule{max-width:320px}time{white-space:nowrap}.scroll{overflow-x:auto}
tr.violation td:first-child{box-shadow:inset 3px 0 var(--red)}tr.unknown td:first-child{box-shadow:inset 3px 0 #f79009}
.badge{display:inline-block;padding:0 6px;border-radius:9px;font-size:11px;font-weight:700;text-transform:uppercase;white-space:nowrap;border:1px solid}
.badge.violation{color:var(--red);background:var(--red-bg)}.badge.unknown{color:var(--amber);background:var(--amber-bg)}
.badge.allowed{color:var(--green);background:var(--green-bg)}.badge.blocked,.badge.non-public{color:var(--grey);background:#f2f4f7}
.country.violation{color:var(--red);font-weight:600}.country.unknown{color:var(--amber)}
.muted{color:var(--muted)}.more{font-weight:600}
code{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
.facts{display:grid;grid-template-columns:max-content 1fr;gap:4px 16px;margin:0}.facts dt{color:var(--muted)}.facts dd{margin:0}
.cols{display:grid;grid-template-columns:1fr 1fr;gap:24px}
ul.lines{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:12px;word-break:break-all}
footer{margin-top:32px;color:var(--muted);font-size:12px}
@media (max-width:800px){.cols{grid-template-columns:1fr}}
@media print{
  @page{size:A4 landscape;margin:12mm}
  body{background:#fff;font-size:10pt}main{max-width:none;padding:0}
  *{-webkit-print-color-adjust:exact;print-color-adjust:exact}
  section,figure{break-inside:auto}h2,h3{break-after:avoid}tr{break-inside:avoid}thead{display:table-header-group}
  figure{break-inside:avoid;border:none}table{font-size:8.5pt}td.rule{max-width:none}
  .banner{break-inside:avoid}.scroll{overflow:visible}
}
`.replace(/\n/g, '');
