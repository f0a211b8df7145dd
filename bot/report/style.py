"""The report's one stylesheet, inlined in its HTML: readable on screen, and printed to PDF on
A4 and on Letter alike (the content is at most A4's printable width; no fixed heights)."""

CSS = """
@page { margin: 14mm 13mm 16mm 13mm; }
* { box-sizing: border-box; }
html { -webkit-print-color-adjust: exact; print-color-adjust: exact; }
body { margin: 0; color: #18181b; background: #fff;
  font: 9.5pt/1.4 "Helvetica Neue", Helvetica, Arial, "Liberation Sans", "DejaVu Sans", sans-serif; }
main { max-width: 184mm; margin: 0 auto; padding: 8mm 0; }
@media print { main { max-width: none; padding: 0; } }
h1 { font-size: 19pt; margin: 0 0 1mm; letter-spacing: -0.01em; }
h2 { font-size: 12.5pt; margin: 7mm 0 2mm; padding-bottom: 1mm; border-bottom: 1.5px solid #18181b;
  break-after: avoid; }
h3 { font-size: 10.5pt; margin: 4mm 0 1.5mm; break-after: avoid; }
p { margin: 1.5mm 0; }
.kicker { text-transform: uppercase; letter-spacing: 0.06em; font-size: 8pt; color: #52525b;
  margin: 0 0 2mm; }
.period { color: #3f3f46; margin: 0 0 4mm; }
.summary { font-size: 10.5pt; line-height: 1.4; margin: 0 0 3mm; padding: 2.5mm 4mm;
  background: #f4f4f5; border-left: 3px solid #18181b; }
.first { break-after: page; }
table { width: 100%; border-collapse: collapse; margin: 1mm 0 3mm; }
thead { display: table-header-group; }
tr { break-inside: avoid; }
th { text-align: left; font-weight: 600; font-size: 8.5pt; color: #3f3f46;
  border-bottom: 1px solid #71717a; padding: 1.2mm 1.5mm; vertical-align: bottom; }
td { border-bottom: 0.5px solid #e4e4e7; padding: 1.1mm 1.5mm; vertical-align: top;
  overflow-wrap: anywhere; }
td.n, th.n { text-align: right; font-variant-numeric: tabular-nums; }
td.n { white-space: nowrap; }
td.t, th.t { white-space: nowrap; font-variant-numeric: tabular-nums; }
.headline td, .headline th { padding: 0.9mm 2mm; font-size: 9.5pt; }
.headline td.n { font-size: 10pt; }
.headline td.now { font-weight: 700; }
.better { color: #15803d; }
.worse { color: #b91c1c; }
.same { color: #71717a; }
.muted, .id { color: #71717a; }
.nowrap { white-space: nowrap; }
.id { font-size: 7.5pt; font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; }
.tag { display: inline-block; font-size: 7.5pt; padding: 0 1.2mm; border-radius: 1mm;
  background: #e4e4e7; color: #27272a; white-space: nowrap; }
.tag.open { background: #fee2e2; color: #991b1b; }
.tag.ok { background: #dcfce7; color: #166534; }
.tag.warn { background: #fef3c7; color: #92400e; }
figure { margin: 2mm 0 3mm; break-inside: avoid; }
figcaption { font-size: 8.5pt; color: #52525b; margin-top: 1mm; }
svg.chart { width: 100%; height: auto; display: block; }
.note { font-size: 8.5pt; color: #52525b; }
.none { color: #52525b; font-style: italic; }
footer { margin-top: 8mm; padding-top: 2mm; border-top: 1px solid #a1a1aa; font-size: 8pt;
  color: #3f3f46; break-inside: avoid; }
footer dl { display: grid; grid-template-columns: max-content 1fr; gap: 0.5mm 3mm; margin: 0; }
footer dt { font-weight: 600; }
footer dd { margin: 0; overflow-wrap: anywhere; }
code { font-family: "DejaVu Sans Mono", Menlo, Consolas, monospace; font-size: 7.5pt; }
.fingerprint { margin-top: 3mm; font-size: 7.5pt; color: #52525b; }
"""
