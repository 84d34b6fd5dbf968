//! The human report: one self-contained `report.html` beside `report.json`.
//!
//! Everything is inline (CSS, SVG charts, thumbnails as JPEG data URIs); the
//! page loads no script, font or image from anywhere, so it opens offline.
//! It shows aggregates and top-N lists only, never one row per video, so its
//! size stays bounded (a few hundred KB for 10k videos; thumbnails of the
//! [`TOP_CLUSTERS`] largest duplicate clusters are most of it).
//!
//! It renders from the typed documents ([`ReportDoc`], [`BalanceDoc`],
//! [`DedupReport`]), never from JSON keys, so a renamed field is a compile
//! error, not a blank cell.
//!
//! Every chart is an `<svg class="chart" data-chart="…">`: `composition`,
//! `axis-<axis>` for each axis of `diversity_balance.json`, and
//! `hist-duration`, `hist-brightness`, `hist-blur`, `hist-motion`. Bars are
//! `rect.bar.input` (all candidates or videos) and `rect.bar.selected` (the
//! selection); targets are `line.target`. The browser test relies on these.
//!
//! The page depends only on the records and the documents written beside it,
//! with no timestamps, so a resumed run writes the same bytes.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;

use serde::Serialize;

use crate::dedup::DedupReport;
use crate::labels::Label;
use crate::policy;
use crate::quality;
use crate::record::VideoRecord;
use crate::report::ReportDoc;
use crate::sample::document::{AxisDoc, BalanceDoc, ShortfallCause};
use crate::sample::Pick;

/// Largest near-duplicate clusters shown with thumbnails.
pub const TOP_CLUSTERS: usize = 12;

/// Members shown per cluster (the kept one always among them).
pub const MEMBERS_PER_CLUSTER: usize = 8;

/// Files named per concern kind and per quality flag; the rest are counted
/// and left to `report.json` / `inventory.jsonl`.
pub const FILES_PER_LIST: usize = 25;

/// Categories drawn per axis chart (the most frequent in the input); a
/// metadata axis with hundreds of values would otherwise be unreadable.
pub const MAX_CATEGORIES: usize = 24;

/// Rows of the per-dataset format, codec and resolution lists.
pub const TOP_ROWS: usize = 6;

/// Colour of the input distribution (candidates, all videos).
const INPUT_COLOR: &str = "#5b7fbf";
/// Colour of the selected distribution.
const SELECTED_COLOR: &str = "#e8743b";
/// Colour of target markers.
const TARGET_COLOR: &str = "#111111";
/// Composition segments: readable real, readable fake, readable unknown,
/// readable mask, unreadable.
const COMPOSITION: [(&str, &str); 5] = [
    ("real", "#3f9d63"),
    ("fake", "#c8463f"),
    ("unknown", "#9a9a9a"),
    ("mask", "#d8b44a"),
    ("unreadable", "#6d4fa3"),
];

/// What the page is built from: the documents written beside it, the records
/// and the selection.
#[derive(Debug, Clone, Copy)]
pub struct Inputs<'a> {
    /// The `report.json` document.
    pub report: &'a ReportDoc,
    /// The `diversity_balance.json` document.
    pub balance: &'a BalanceDoc,
    /// The `dedup_report.json` document.
    pub dedup: &'a DedupReport,
    /// Every record of the run.
    pub records: &'a [VideoRecord],
    /// The selected real videos (`real_sources.jsonl`).
    pub picks: &'a [Pick],
}

/// Render `report.html`.
pub fn render(inp: &Inputs<'_>) -> String {
    let by_path: HashMap<&str, &VideoRecord> =
        inp.records.iter().map(|r| (r.path.as_str(), r)).collect();
    let mut h = String::with_capacity(256 * 1024);
    head(&mut h, inp);
    summary(&mut h, inp);
    composition(&mut h, inp);
    balance(&mut h, inp);
    distributions(&mut h, inp, &by_path);
    quotas(&mut h, inp);
    duplicates(&mut h, inp, &by_path);
    fakes(&mut h, inp);
    gaps_and_concerns(&mut h, inp);
    recommendations(&mut h, inp);
    let _ = write!(
        h,
        "<footer id=\"end\">engine {} · written with the JSON outputs in this folder; self-contained, no network needed</footer>\n</main>\n</body>\n</html>\n",
        esc(inp.report.engine_version)
    );
    h
}

// ------------------------------------------------------------- helpers --

/// HTML-escape text (paths may hold any character).
fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

fn pct(x: f64) -> String {
    format!("{:.1}%", x * 100.0)
}

/// The name a unit enum serialises to (`unreadable_video`, `over`, …).
fn name_of<T: Serialize>(v: &T) -> String {
    serde_json::to_value(v)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default()
}

/// An optional number as JSON writes it (`12.0`, `null`).
fn json_num(x: Option<f64>) -> String {
    serde_json::to_string(&x).unwrap_or_default()
}

/// A category's value in a per-category map, 0 when absent.
fn at<T: Copy + Default>(m: &BTreeMap<String, T>, k: &str) -> T {
    m.get(k).copied().unwrap_or_default()
}

/// Compact human number: 1234 → 1,234.
fn thousands(n: usize) -> String {
    let s = n.to_string();
    let mut out = String::new();
    for (i, c) in s.chars().enumerate() {
        if i > 0 && (s.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

fn short_path(p: &str, keep: usize) -> String {
    let n = p.chars().count();
    if n <= keep {
        p.to_string()
    } else {
        let tail: String = p.chars().skip(n - keep + 1).collect();
        format!("…{tail}")
    }
}

/// The `n` largest entries by value (ties by key), and the sum of the rest.
fn top_n(m: &BTreeMap<String, usize>, n: usize) -> (Vec<(String, usize)>, usize) {
    let mut v: Vec<(String, usize)> = m.iter().map(|(k, &c)| (k.clone(), c)).collect();
    v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let rest = v.iter().skip(n).map(|(_, c)| c).sum();
    v.truncate(n);
    (v, rest)
}

fn legend(h: &mut String, items: &[(&str, &str, &str)]) {
    h.push_str("<div class=\"legend\">");
    for (color, label, kind) in items {
        let swatch = if *kind == "line" {
            format!("<span class=\"sw line\" style=\"border-color:{color}\"></span>")
        } else {
            format!("<span class=\"sw\" style=\"background:{color}\"></span>")
        };
        let _ = write!(h, "<span>{swatch}{}</span>", esc(label));
    }
    h.push_str("</div>\n");
}

// ------------------------------------------------------------- sections --

fn head(h: &mut String, inp: &Inputs<'_>) {
    let roots: Vec<String> = inp.report.roots.iter().map(|r| esc(&r.root)).collect();
    let _ = write!(
        h,
        r##"<!DOCTYPE html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Dataset analysis: {title}</title>
<style>
body {{ font: 14px/1.45 system-ui, -apple-system, "Segoe UI", Roboto, "DejaVu Sans", sans-serif; color: #1d232b; background: #f6f7f9; margin: 0; }}
main {{ max-width: 1180px; margin: 0 auto; padding: 18px 24px 40px; }}
header h1 {{ font-size: 22px; margin: 6px 0 2px; }}
header p {{ margin: 2px 0; color: #4a5563; }}
nav {{ margin: 10px 0 4px; display: flex; flex-wrap: wrap; gap: 6px 14px; font-size: 13px; }}
nav a {{ color: #2c5aa0; text-decoration: none; }}
section {{ background: #fff; border: 1px solid #dfe3e8; border-radius: 6px; padding: 12px 18px 16px; margin: 14px 0; }}
h2 {{ font-size: 17px; margin: 4px 0 10px; }}
h3 {{ font-size: 14px; margin: 14px 0 6px; }}
table {{ border-collapse: collapse; margin: 6px 0 10px; font-size: 13px; }}
th, td {{ border-bottom: 1px solid #e6e9ed; padding: 3px 9px; text-align: left; vertical-align: top; }}
th {{ background: #f0f2f5; font-weight: 600; }}
td.n, th.n {{ text-align: right; font-variant-numeric: tabular-nums; }}
.over {{ color: #b3261e; font-weight: 600; }}
.under {{ color: #7a4f00; font-weight: 600; }}
.muted {{ color: #69727d; }}
.grid {{ display: grid; grid-template-columns: repeat(auto-fill, minmax(540px, 1fr)); gap: 10px 22px; }}
.card {{ border: 1px solid #e3e6ea; border-radius: 5px; padding: 8px 12px; }}
.legend {{ display: flex; gap: 16px; font-size: 12px; margin: 4px 0 8px; color: #3a4450; }}
.sw {{ display: inline-block; width: 12px; height: 12px; margin-right: 5px; vertical-align: -1px; border-radius: 2px; }}
.sw.line {{ width: 0; height: 12px; border-left: 3px solid; border-radius: 0; }}
svg.chart {{ display: block; max-width: 100%; height: auto; }}
svg.chart text {{ font: 11px system-ui, "DejaVu Sans", sans-serif; fill: #2a323c; }}
.tiles {{ display: flex; flex-wrap: wrap; gap: 8px; margin: 6px 0 4px; }}
.tile {{ width: 168px; border: 2px solid #e3e6ea; border-radius: 5px; padding: 3px; font-size: 11px; background: #fff; }}
.tile.kept {{ border-color: #3f9d63; }}
.tile img, .tile .noimg {{ width: 160px; height: 90px; object-fit: cover; display: block; background: #dde1e6; }}
.tile .noimg {{ line-height: 90px; text-align: center; color: #69727d; }}
.tile .p {{ word-break: break-all; }}
.badge {{ display: inline-block; padding: 0 5px; border-radius: 3px; font-size: 11px; color: #fff; background: #3f9d63; }}
.badge.fake {{ background: #c8463f; }}
ul.tight {{ margin: 4px 0; padding-left: 20px; }}
code {{ font-size: 12px; }}
footer {{ color: #69727d; font-size: 12px; margin-top: 18px; }}
</style>
</head>
<body>
<main>
<header>
<h1>Dataset analysis</h1>
<p>Roots: {roots}</p>
</header>
<nav><a href="#summary">Summary</a><a href="#composition">Composition</a><a href="#balance">Balance per axis</a><a href="#distributions">Distributions</a><a href="#quotas">Quotas</a><a href="#duplicates">Near-duplicates</a><a href="#fakes">Fakes</a><a href="#gaps">Gaps and concerns</a><a href="#recommendations">Recommendations</a></nav>
"##,
        title = roots.join(", "),
        roots = roots.join(" · "),
    );
}

fn summary(h: &mut String, inp: &Inputs<'_>) {
    let t = &inp.report.totals;
    let b = inp.balance;
    let _ = write!(
        h,
        "<section id=\"summary\">\n<h2>Summary</h2>\n<p><b>{}</b> video files in {} datasets: {} real, {} fake, {} unlabelled; {} unreadable. \
         Selected <b>{}</b> real videos for <b>{}</b> ten-second clips ({}).</p>\n<ul class=\"tight\">\n",
        thousands(t.total_videos),
        inp.report.datasets.len(),
        thousands(t.real_videos),
        thousands(t.fake_videos),
        thousands(t.unknown_label_videos),
        thousands(t.unreadable_videos),
        thousands(b.total_selected),
        thousands(b.expected_clips),
        esc(&b.total_reason),
    );
    for (name, d) in &inp.report.datasets {
        let layouts: Vec<String> = d
            .folder_structure
            .layouts_detected
            .iter()
            .map(|l| esc(l))
            .collect();
        let used = d.metadata_files_used.len();
        let _ = writeln!(
            h,
            "<li><b>{}</b> <span class=\"muted\">{}</span>: {} videos ({} real, {} fake, {} unlabelled, {} unreadable), {:.2} h; layout {}; {} fake method{}; {} metadata file{} used.</li>",
            esc(name),
            esc(&d.root),
            thousands(d.counts.total_videos),
            thousands(d.counts.real_videos),
            thousands(d.counts.fake_videos),
            thousands(d.counts.unknown_label_videos),
            thousands(d.counts.unreadable_videos),
            d.durations.total_hours,
            if layouts.is_empty() { "none recognised".to_string() } else { layouts.join(", ") },
            d.methods.len(),
            if d.methods.len() == 1 { "" } else { "s" },
            used,
            if used == 1 { "" } else { "s" },
        );
    }
    let _ = writeln!(
        h,
        "</ul>\n<p class=\"muted\">Face pass: {}</p>\n</section>",
        esc(inp.report.face_pass.trim_start_matches("face pass: "))
    );
}

fn composition(h: &mut String, inp: &Inputs<'_>) {
    h.push_str("<section id=\"composition\">\n<h2>Composition per dataset</h2>\n");
    // Segments from the records: readable real/fake/unknown/mask, then unreadable.
    let mut per: BTreeMap<&str, [usize; 5]> = BTreeMap::new();
    for r in inp.records {
        let seg = if !r.is_readable() {
            4
        } else if r.is_mask() {
            3
        } else {
            match r.labels.label {
                Label::Real => 0,
                Label::Fake => 1,
                Label::Unknown => 2,
            }
        };
        per.entry(r.dataset.as_str()).or_insert([0; 5])[seg] += 1;
    }
    let items: Vec<(&str, &str, &str)> = COMPOSITION
        .iter()
        .map(|(label, color)| (*color, *label, "box"))
        .collect();
    legend(h, &items);
    let (label_w, bar_w, row_h) = (170.0, 700.0, 26.0);
    let height = row_h * per.len().max(1) as f64 + 8.0;
    let _ = writeln!(
        h,
        "<svg class=\"chart\" data-chart=\"composition\" viewBox=\"0 0 {w} {height}\" width=\"{w}\" height=\"{height}\" role=\"img\" aria-label=\"videos per dataset by label\">",
        w = label_w + bar_w + 90.0
    );
    let max_total = per
        .values()
        .map(|c| c.iter().sum::<usize>())
        .max()
        .unwrap_or(1)
        .max(1);
    for (row, (ds, c)) in per.iter().enumerate() {
        let y = 4.0 + row as f64 * row_h;
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{}</text>",
            label_w - 8.0,
            y + 15.0,
            esc(&short_path(ds, 26))
        );
        let mut x = label_w;
        for (k, &n) in c.iter().enumerate() {
            if n == 0 {
                continue;
            }
            let w = bar_w * n as f64 / max_total as f64;
            let _ = write!(
                h,
                "<rect class=\"bar input seg-{}\" x=\"{x:.1}\" y=\"{y:.1}\" width=\"{w:.1}\" height=\"20\" fill=\"{}\"><title>{}: {} {}</title></rect>",
                COMPOSITION[k].0,
                COMPOSITION[k].1,
                esc(ds),
                n,
                COMPOSITION[k].0
            );
            x += w;
        }
        let _ = writeln!(
            h,
            "<text x=\"{:.1}\" y=\"{}\">{}</text>",
            x + 6.0,
            y + 15.0,
            thousands(c.iter().sum())
        );
    }
    h.push_str("</svg>\n<div class=\"grid\">\n");
    for (name, d) in &inp.report.datasets {
        let _ = write!(h, "<div class=\"card\"><h3>{}</h3><table><tr>", esc(name));
        for head in ["containers", "codecs", "resolutions"] {
            let _ = write!(h, "<th>{head}</th>");
        }
        h.push_str("</tr><tr>");
        for counts in [&d.formats, &d.codecs, &d.resolutions] {
            let (top, rest) = top_n(counts, TOP_ROWS);
            h.push_str("<td>");
            for (k, n) in &top {
                let _ = write!(h, "{} <span class=\"muted\">{}</span><br>", esc(k), n);
            }
            if rest > 0 {
                let _ = write!(h, "<span class=\"muted\">other: {rest}</span>");
            }
            if top.is_empty() {
                h.push_str("<span class=\"muted\">none readable</span>");
            }
            h.push_str("</td>");
        }
        let dur = &d.durations;
        let _ = writeln!(
            h,
            "</tr></table><p class=\"muted\">duration min {} s · median {} s · max {} s</p></div>",
            json_num(dur.min),
            json_num(dur.median),
            json_num(dur.max)
        );
    }
    h.push_str("</div>\n</section>\n");
}

/// One axis: input share and selected share per category, target marked.
fn axis_chart(h: &mut String, name: &str, axis: &AxisDoc) {
    let input = &axis.original.counts;
    let input_share = &axis.original.shares;
    let selected_share = &axis.selected.shares;
    let target = &axis.target_distribution;
    let (shown, _) = top_n(input, MAX_CATEGORIES);
    let mut cats: Vec<String> = shown.into_iter().map(|(k, _)| k).collect();
    cats.sort();
    let max_share = cats
        .iter()
        .flat_map(|c| [at(input_share, c), at(selected_share, c), at(target, c)])
        .fold(0.0f64, f64::max);
    let scale_max = ((max_share * 10.0).ceil() / 10.0).clamp(0.1, 1.0);
    let (label_w, bar_w, row_h, top) = (150.0, 330.0, 24.0, 16.0);
    let height = top + row_h * cats.len().max(1) as f64 + 4.0;
    let width = label_w + bar_w + 110.0;
    let _ = writeln!(
        h,
        "<svg class=\"chart\" data-chart=\"axis-{}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"{} distribution: input, selected, target\">",
        esc(name),
        esc(name)
    );
    for tick in [0.0, scale_max / 2.0, scale_max] {
        let x = label_w + bar_w * tick / scale_max;
        let _ = write!(
            h,
            "<line x1=\"{x:.1}\" y1=\"{}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#e2e5e9\"/><text x=\"{x:.1}\" y=\"11\" text-anchor=\"middle\">{}</text>",
            top - 2.0,
            height - 2.0,
            pct(tick)
        );
    }
    for (row, cat) in cats.iter().enumerate() {
        let y = top + row as f64 * row_h;
        let (si, ss, st) = (
            at(input_share, cat),
            at(selected_share, cat),
            at(target, cat),
        );
        let sel_n = at(&axis.selected.counts, cat);
        let quota = at(&axis.quotas, cat);
        let _ = write!(
            h,
            "<text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            label_w - 6.0,
            y + 14.0,
            esc(&short_path(cat, 22))
        );
        let _ = write!(
            h,
            "<rect class=\"bar input\" x=\"{label_w}\" y=\"{:.1}\" width=\"{:.1}\" height=\"9\" fill=\"{INPUT_COLOR}\"><title>{}: {} of {} candidates ({})</title></rect>",
            y + 2.0,
            bar_w * si / scale_max,
            esc(cat),
            at(input, cat),
            input.values().sum::<usize>(),
            pct(si)
        );
        let _ = write!(
            h,
            "<rect class=\"bar selected\" x=\"{label_w}\" y=\"{:.1}\" width=\"{:.1}\" height=\"9\" fill=\"{SELECTED_COLOR}\"><title>{}: {} selected ({}), quota {}</title></rect>",
            y + 12.0,
            bar_w * ss / scale_max,
            esc(cat),
            sel_n,
            pct(ss),
            quota
        );
        let tx = label_w + bar_w * st / scale_max;
        let _ = write!(
            h,
            "<line class=\"target\" x1=\"{tx:.1}\" y1=\"{:.1}\" x2=\"{tx:.1}\" y2=\"{:.1}\" stroke=\"{TARGET_COLOR}\" stroke-width=\"2\"><title>{}: target {}</title></line>",
            y,
            y + 23.0,
            esc(cat),
            pct(st)
        );
        let _ = writeln!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\">{} → {}</text>",
            label_w + bar_w + 8.0,
            y + 14.0,
            pct(si),
            pct(ss)
        );
    }
    if cats.is_empty() {
        let _ = write!(
            h,
            "<text x=\"{label_w}\" y=\"{:.1}\">no candidate has a value on this axis</text>",
            top + 14.0
        );
    }
    h.push_str("</svg>\n");
}

fn balance(h: &mut String, inp: &Inputs<'_>) {
    h.push_str("<section id=\"balance\">\n<h2>Balance per axis: input against selection</h2>\n");
    legend(
        h,
        &[
            (INPUT_COLOR, "input (candidate real videos)", "box"),
            (SELECTED_COLOR, "selected", "box"),
            (TARGET_COLOR, "target", "line"),
        ],
    );
    h.push_str("<div class=\"grid\">\n");
    for (name, axis) in &inp.balance.axes {
        let e = &axis.normalized_entropy;
        let _ = write!(
            h,
            "<div class=\"card\"><h3>{} <span class=\"muted\">({})</span></h3>",
            esc(name),
            esc(&axis.source)
        );
        axis_chart(h, name, axis);
        let biases: Vec<String> = axis
            .biases
            .iter()
            .map(|b| {
                let kind = name_of(&b.kind);
                format!(
                    "<span class=\"{kind}\">{kind}-represented {}</span> ({}, {:.2}× uniform)",
                    esc(&b.category),
                    pct(b.share),
                    b.factor_of_uniform
                )
            })
            .collect();
        let n_cats = axis.original.counts.len();
        let _ = writeln!(
            h,
            "<p>Normalized entropy {:.3} → <b>{:.3}</b> (best possible {:.3}).{}{}</p>{}</div>",
            e.input,
            e.selected,
            e.best_possible,
            if biases.is_empty() {
                " No bias in the input.".to_string()
            } else {
                format!(" Input: {}.", biases.join("; "))
            },
            if n_cats > MAX_CATEGORIES {
                format!(
                    " <span class=\"muted\">{} of {n_cats} categories drawn.</span>",
                    MAX_CATEGORIES
                )
            } else {
                String::new()
            },
            quota_verdict(axis)
        );
    }
    h.push_str("</div>\n</section>\n");
}

/// The axis's quota verdict, one `p.quota` per axis card: met, or each
/// shortfall and its cause.
fn quota_verdict(axis: &AxisDoc) -> String {
    let Some(met) = axis.met else {
        return "<p class=\"quota\" data-met=\"none\">No quotas: no candidate has a value on this axis.</p>".into();
    };
    if axis.shortfalls.is_empty() {
        return format!(
            "<p class=\"quota\" data-met=\"{met}\">Quotas {}.</p>",
            if met {
                format!(
                    "met (every category within {} of its quota)",
                    policy::QUOTA_TOLERANCE
                )
            } else {
                "not met: some category is over its quota by more than the tolerance".into()
            }
        );
    }
    format!(
        "<p class=\"quota\" data-met=\"{met}\"><span class=\"under\">Short</span>: {}.</p>",
        shortfalls_text(axis)
    )
}

/// Each shortfall of an axis and its cause, in words.
fn shortfalls_text(axis: &AxisDoc) -> String {
    axis.shortfalls
        .iter()
        .map(|sf| {
            let why = match sf.cause {
                ShortfallCause::TooFewCandidates => "too few candidates".to_string(),
                ShortfallCause::ConflictsWith => {
                    format!("lost to {}", esc(&sf.conflicting_axes.join(", ")))
                }
                ShortfallCause::Budget => "no room left in the total".to_string(),
            };
            format!(
                "{} {} of quota {} ({why})",
                esc(&sf.category),
                sf.selected,
                sf.quota
            )
        })
        .collect::<Vec<_>>()
        .join("; ")
}

/// A histogram's bins: upper edges (the last bin is open) and labels.
struct Bins {
    key: &'static str,
    title: &'static str,
    edges: Vec<f64>,
    note: String,
}

impl Bins {
    fn labels(&self) -> Vec<String> {
        let fmt = |x: f64| {
            if x.fract() == 0.0 {
                format!("{x:.0}")
            } else {
                format!("{x}")
            }
        };
        let mut out = Vec::new();
        let mut lo = 0.0;
        for &e in &self.edges {
            out.push(format!("{}–{}", fmt(lo), fmt(e)));
            lo = e;
        }
        out.push(format!("{}+", fmt(lo)));
        out
    }

    fn bin(&self, x: f64) -> usize {
        self.edges
            .iter()
            .position(|&e| x < e)
            .unwrap_or(self.edges.len())
    }
}

fn histogram(h: &mut String, bins: &Bins, all: &[f64], selected: &[f64]) {
    let n = bins.edges.len() + 1;
    let tally = |xs: &[f64]| {
        let mut c = vec![0u64; n];
        for &x in xs {
            c[bins.bin(x)] += 1;
        }
        c
    };
    let (ca, cs) = (tally(all), tally(selected));
    let share = |c: &[u64], i: usize| {
        let t: u64 = c.iter().sum();
        if t == 0 {
            0.0
        } else {
            c[i] as f64 / t as f64
        }
    };
    let max = (0..n)
        .flat_map(|i| [share(&ca, i), share(&cs, i)])
        .fold(0.0f64, f64::max)
        .max(0.01);
    let (left, plot_w, plot_h, top) = (40.0, 480.0, 150.0, 10.0);
    let group = plot_w / n as f64;
    let width = left + plot_w + 10.0;
    let height = top + plot_h + 46.0;
    let _ = writeln!(
        h,
        "<svg class=\"chart\" data-chart=\"hist-{}\" viewBox=\"0 0 {width} {height}\" width=\"{width}\" height=\"{height}\" role=\"img\" aria-label=\"histogram of {}\">",
        bins.key,
        esc(bins.title)
    );
    for tick in [0.0, max / 2.0, max] {
        let y = top + plot_h - plot_h * tick / max;
        let _ = write!(
            h,
            "<line x1=\"{left}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#e2e5e9\"/><text x=\"{}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            left + plot_w,
            left - 4.0,
            y + 4.0,
            pct(tick)
        );
    }
    let labels = bins.labels();
    for i in 0..n {
        let x0 = left + group * i as f64;
        let bw = (group - 4.0) / 2.0;
        for (k, (c, class, color)) in [
            (&ca, "input", INPUT_COLOR),
            (&cs, "selected", SELECTED_COLOR),
        ]
        .into_iter()
        .enumerate()
        {
            let s = share(c, i);
            let bh = plot_h * s / max;
            let _ = write!(
                h,
                "<rect class=\"bar {class}\" x=\"{:.1}\" y=\"{:.1}\" width=\"{bw:.1}\" height=\"{bh:.1}\" fill=\"{color}\"><title>{} {}: {} videos ({})</title></rect>",
                x0 + 2.0 + k as f64 * bw,
                top + plot_h - bh,
                class,
                esc(&labels[i]),
                c[i],
                pct(s)
            );
        }
        let _ = writeln!(
            h,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\" transform=\"rotate(-35 {:.1} {:.1})\">{}</text>",
            x0 + group / 2.0 + 4.0,
            top + plot_h + 14.0,
            x0 + group / 2.0 + 4.0,
            top + plot_h + 14.0,
            esc(&labels[i])
        );
    }
    h.push_str("</svg>\n");
    let _ = writeln!(
        h,
        "<p class=\"muted\">{} readable videos, {} selected. {}</p>",
        thousands(all.len()),
        thousands(selected.len()),
        esc(&bins.note)
    );
}

fn distributions(h: &mut String, inp: &Inputs<'_>, by_path: &HashMap<&str, &VideoRecord>) {
    h.push_str("<section id=\"distributions\">\n<h2>Distributions: all readable videos against the selection</h2>\n");
    legend(
        h,
        &[
            (INPUT_COLOR, "all readable videos (real and fake)", "box"),
            (SELECTED_COLOR, "selected real videos", "box"),
        ],
    );
    type Metric = fn(&VideoRecord) -> Option<f64>;
    let specs: [(Bins, Metric); 4] = [
        (
            Bins {
                key: "duration",
                title: "duration (s)",
                edges: vec![5.0, 10.0, 20.0, 30.0, 60.0, 120.0, 300.0, 600.0],
                note: "Duration in seconds; a video shorter than 10 s yields no clip.".into(),
            },
            |r| r.probe.as_ref().map(|p| p.duration_s),
        ),
        (
            Bins {
                key: "brightness",
                title: "brightness (mean luma)",
                edges: (1..16).map(|i| f64::from(i * 16)).collect(),
                note: format!(
                    "Median over the sampled frames of the mean luma (0–255); low light below {}, bright above {}.",
                    policy::LOW_LIGHT_MEAN,
                    policy::BRIGHT_MEAN
                ),
            },
            |r| r.frames.as_ref().map(|f| f.quality.luma_mean.median),
        ),
        (
            Bins {
                key: "blur",
                title: "sharpness (Laplacian variance)",
                edges: vec![
                    25.0,
                    policy::BLURRY_LAPLACIAN_VAR,
                    policy::SOFT_LAPLACIAN_VAR,
                    200.0,
                    400.0,
                    800.0,
                    1600.0,
                    3200.0,
                ],
                note: format!(
                    "Median Laplacian variance of the sampled frames; blurry below {}, soft below {}.",
                    policy::BLURRY_LAPLACIAN_VAR,
                    policy::SOFT_LAPLACIAN_VAR
                ),
            },
            |r| r.frames.as_ref().map(|f| f.quality.laplacian_var.median),
        ),
        (
            Bins {
                key: "motion",
                title: "motion (mean absolute frame difference per second)",
                edges: vec![
                    policy::STATIC_MOTION_PER_S,
                    12.5,
                    25.0,
                    50.0,
                    100.0,
                    policy::HIGH_MOTION_PER_S,
                    250.0,
                    500.0,
                ],
                note: format!(
                    "Median luma change per second between a sampled frame and the next decoded one; static below {}, high motion above {}.",
                    policy::STATIC_MOTION_PER_S,
                    policy::HIGH_MOTION_PER_S
                ),
            },
            |r| r.frames.as_ref()?.quality.motion_per_s.as_ref().map(|m| m.median),
        ),
    ];
    h.push_str("<div class=\"grid\">\n");
    for (bins, metric) in &specs {
        let all: Vec<f64> = inp
            .records
            .iter()
            .filter(|r| r.is_readable())
            .filter_map(metric)
            .collect();
        let selected: Vec<f64> = inp
            .picks
            .iter()
            .filter_map(|p| by_path.get(p.path.as_str()).and_then(|r| metric(r)))
            .collect();
        let _ = write!(h, "<div class=\"card\"><h3>{}</h3>", esc(bins.title));
        histogram(h, bins, &all, &selected);
        h.push_str("</div>\n");
    }
    h.push_str("</div>\n</section>\n");
}

fn quotas(h: &mut String, inp: &Inputs<'_>) {
    let b = inp.balance;
    let _ = write!(
        h,
        "<section id=\"quotas\">\n<h2>Quotas</h2>\n<p>{} candidates; target {} videos: {}. Primary axes (the <code>category</code> of each line): {}.</p>\n",
        thousands(b.candidates),
        thousands(b.total_target),
        esc(&b.total_reason),
        b.primary_axes
            .iter()
            .map(|x| esc(x))
            .collect::<Vec<_>>()
            .join(", ")
    );
    h.push_str("<table>\n<tr><th>axis</th><th>category</th><th class=\"n\">available</th><th class=\"n\">input share</th><th class=\"n\">quota</th><th class=\"n\">target share</th><th class=\"n\">selected</th><th class=\"n\">selected share</th><th>input bias</th></tr>\n");
    for (name, axis) in &b.axes {
        if axis.categories_among_candidates < 2 {
            continue;
        }
        let input = &axis.original.counts;
        let (shown, rest) = top_n(input, MAX_CATEGORIES);
        let mut cats: Vec<String> = shown.into_iter().map(|(k, _)| k).collect();
        cats.sort();
        let bias: BTreeMap<String, String> = axis
            .biases
            .iter()
            .map(|x| (x.category.clone(), name_of(&x.kind)))
            .collect();
        for (i, cat) in cats.iter().enumerate() {
            let kind = bias.get(cat).map(String::as_str).unwrap_or("");
            let _ = writeln!(
                h,
                "<tr><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"{}\">{}</td></tr>",
                if i == 0 { esc(name) } else { String::new() },
                esc(cat),
                at(input, cat),
                pct(at(&axis.original.shares, cat)),
                at(&axis.quotas, cat),
                pct(at(&axis.target_distribution, cat)),
                at(&axis.selected.counts, cat),
                pct(at(&axis.selected.shares, cat)),
                kind,
                if kind.is_empty() { String::new() } else { format!("{kind}-represented") }
            );
        }
        if rest > 0 {
            let _ = writeln!(
                h,
                "<tr><td></td><td class=\"muted\">{} more categories</td><td class=\"n\">{rest}</td><td colspan=\"6\" class=\"muted\">see diversity_balance.json</td></tr>",
                input.len() - cats.len()
            );
        }
    }
    h.push_str("</table>\n");
    let excluded = &b.excluded;
    if !excluded.is_empty() {
        h.push_str("<p>Not candidates: ");
        let parts: Vec<String> = excluded
            .iter()
            .map(|(k, &n)| format!("{} {}", thousands(n), esc(k)))
            .collect();
        h.push_str(&parts.join(", "));
        h.push_str(".</p>\n");
    }
    h.push_str("</section>\n");
}

fn duplicates(h: &mut String, inp: &Inputs<'_>, by_path: &HashMap<&str, &VideoRecord>) {
    let s = &inp.dedup.summary;
    let _ = write!(
        h,
        "<section id=\"duplicates\">\n<h2>Near-duplicates</h2>\n<p>{} clusters ({} byte-identical, {} near), {} videos in clusters, {} not kept; {} clusters span datasets. \
         Fake→original links found by content: {} ({} agree with metadata, {} disagree, {} without metadata).</p>\n",
        s.clusters,
        s.exact_clusters,
        s.near_clusters,
        s.videos_in_clusters,
        s.videos_not_kept,
        s.cross_dataset_clusters,
        s.fake_original_links,
        s.fake_original_links_agreeing_with_metadata,
        s.fake_original_links_disagreeing_with_metadata,
        s.fake_original_links_without_metadata,
    );
    let mut clusters: Vec<&crate::dedup::Cluster> = inp.dedup.clusters.iter().collect();
    clusters.sort_by(|a, b| {
        b.members
            .len()
            .cmp(&a.members.len())
            .then_with(|| a.id.cmp(&b.id))
    });
    if clusters.len() > TOP_CLUSTERS {
        let _ = writeln!(
            h,
            "<p class=\"muted\">The {TOP_CLUSTERS} largest of {} clusters; all are in dedup_report.json.</p>",
            clusters.len()
        );
    }
    for c in clusters.iter().take(TOP_CLUSTERS) {
        let kept = c.kept.as_str();
        let members = &c.members;
        let _ = write!(
            h,
            "<div class=\"cluster\" data-cluster=\"{}\"><h3>Cluster {} · {} · {} members</h3><p class=\"muted\">kept {}: {}</p><div class=\"tiles\">",
            c.id,
            c.id,
            c.kind.as_str(),
            members.len(),
            esc(kept),
            esc(&c.reason)
        );
        // The kept member first, then the others in path order.
        let mut shown: Vec<&crate::dedup::ClusterMember> =
            members.iter().filter(|m| m.path == kept).collect();
        shown.extend(members.iter().filter(|m| m.path != kept));
        for m in shown.iter().take(MEMBERS_PER_CLUSTER) {
            let path = m.path.as_str();
            let is_kept = path == kept;
            let thumb = by_path
                .get(path)
                .and_then(|r| r.frames.as_ref())
                .and_then(|f| f.thumbnail_jpeg_b64.as_deref());
            let img = match thumb {
                Some(b64) => format!(
                    "<img alt=\"frame of {}\" src=\"data:image/jpeg;base64,{b64}\">",
                    esc(path)
                ),
                None => "<div class=\"noimg\">no thumbnail</div>".to_string(),
            };
            let label = m.label;
            let similarity = m
                .similarity
                .map(|s| format!(" · sim {s:.3}"))
                .unwrap_or_default();
            let matched = m
                .matched_frames
                .map(|n| format!(" · {n} frames matched"))
                .unwrap_or_default();
            let _ = write!(
                h,
                "<div class=\"tile{}\" title=\"{}\">{img}<div>{}<span class=\"badge{}\">{}</span> {}{}{}</div><div class=\"p\">{}</div></div>",
                if is_kept { " kept" } else { "" },
                esc(path),
                if is_kept { "<span class=\"badge\">kept</span> " } else { "" },
                if label == "fake" { " fake" } else { "" },
                esc(label),
                esc(&m.dataset),
                similarity,
                matched,
                esc(&short_path(path, 60))
            );
        }
        if members.len() > MEMBERS_PER_CLUSTER {
            let _ = write!(
                h,
                "<div class=\"muted\">+{} more</div>",
                members.len() - MEMBERS_PER_CLUSTER
            );
        }
        h.push_str("</div></div>\n");
    }
    if clusters.is_empty() {
        h.push_str("<p>No duplicates found.</p>\n");
    }
    h.push_str("</section>\n");
}

/// The per-video face measures the fake table shows (field, column title);
/// `report.json` has them all.
const FAKE_TABLE_MEASURES: &[(&str, &str)] = &[
    ("face_to_background_change_ratio", "face/background change"),
    ("boundary_gradient_ratio", "boundary energy"),
    ("face_ring_chroma_distance_levels", "colour mismatch"),
    ("landmark_jitter_face_heights_per_frame", "landmark jitter"),
];

/// `median [p10–p90]` of a spread, `–` without values.
fn spread_cell(s: &crate::plan::Spread) -> String {
    let sig = |v: Option<f64>| v.map(crate::plan::sig3).unwrap_or_else(|| "–".into());
    match s.median {
        None => "–".into(),
        Some(_) if s.n < 2 => sig(s.median),
        Some(_) => format!("{} [{}–{}]", sig(s.median), sig(s.p10), sig(s.p90)),
    }
}

/// Every face measure of every method: the fakes' and their originals'
/// distributions, the paired difference and the standardised difference
/// (`face_measures` in `report.json`), folded away under the fake table.
fn fake_measure_spreads(h: &mut String, catalog: &crate::plan::FakeCatalog) {
    let any = catalog
        .values()
        .flat_map(|d| d.methods.values())
        .any(|m| m.measured_fakes > 0);
    if !any {
        return;
    }
    h.push_str("<details>\n<summary>Face measures per method: median [p10–p90] of the fakes and of their originals</summary>\n<table>\n<tr><th>dataset</th><th>method</th><th>measure</th><th>unit</th><th class=\"n\">fakes</th><th class=\"n\">median [p10–p90]</th><th class=\"n\">originals</th><th class=\"n\">median [p10–p90]</th><th class=\"n\">fake − original pairs, median [p10–p90]</th><th class=\"n\">d</th></tr>\n");
    for (ds, d) in catalog {
        for (method, m) in &d.methods {
            if m.measured_fakes == 0 {
                continue;
            }
            for r in &m.face_measures {
                let _ = writeln!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td></tr>",
                    esc(ds),
                    esc(method),
                    esc(r.measure),
                    esc(r.unit),
                    r.fakes.n,
                    spread_cell(&r.fakes),
                    r.originals.n,
                    spread_cell(&r.originals),
                    spread_cell(&r.paired_difference),
                    r.standardised_difference
                        .map(|x| format!("{x:.1}"))
                        .unwrap_or_else(|| "–".into()),
                );
            }
        }
    }
    h.push_str("</table>\n</details>\n");
}

fn fakes(h: &mut String, inp: &Inputs<'_>) {
    h.push_str("<section id=\"fakes\">\n<h2>Fakes: methods, quality, temporal consistency</h2>\n");
    let catalog = &inp.report.fake_catalog;
    if catalog.is_empty() {
        h.push_str("<p>No fake videos in the roots.</p>\n");
    } else {
        h.push_str("<table>\n<tr><th>dataset</th><th>method</th><th>family</th><th class=\"n\">videos</th><th class=\"n\">measured fakes / originals</th><th class=\"n\">height (median)</th><th class=\"n\">bitrate kb/s (median)</th><th class=\"n\">sharpness (median)</th><th class=\"n\">originals' sharpness</th>");
        for (_, title) in FAKE_TABLE_MEASURES {
            let _ = write!(h, "<th class=\"n\">{title}<br>fakes vs originals</th>");
        }
        h.push_str("</tr>\n");
        let opt = |v: Option<f64>, scale: f64| {
            v.map(|x| format!("{:.0}", x / scale))
                .unwrap_or_else(|| "–".into())
        };
        let sig = |v: Option<f64>| v.map(crate::plan::sig3).unwrap_or_else(|| "–".into());
        for (ds, d) in catalog {
            for (i, (method, m)) in d.methods.iter().enumerate() {
                let _ = write!(
                    h,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td class=\"n\">{}</td><td class=\"n\">{} / {}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td><td class=\"n\">{}</td>",
                    if i == 0 { esc(ds) } else { String::new() },
                    esc(method),
                    esc(m.family.unwrap_or("unknown")),
                    m.count,
                    m.measured_fakes,
                    m.measured_originals,
                    opt(m.fakes.height_px_median, 1.0),
                    opt(m.fakes.bitrate_bps_median, 1000.0),
                    opt(m.fakes.laplacian_var_median, 1.0),
                    opt(m.their_originals.laplacian_var_median, 1.0),
                );
                for (name, _) in FAKE_TABLE_MEASURES {
                    let row = m.face_measures.iter().find(|r| r.measure == *name);
                    let _ = write!(
                        h,
                        "<td class=\"n\">{} vs {}</td>",
                        sig(row.and_then(|r| r.fakes.median)),
                        sig(row.and_then(|r| r.originals.median))
                    );
                }
                h.push_str("</tr>\n");
            }
        }
        h.push_str("</table>\n");
        let told: Vec<(&String, &String, &crate::plan::MethodRow)> = catalog
            .iter()
            .flat_map(|(ds, d)| d.methods.iter().map(move |(m, row)| (ds, m, row)))
            .filter(|(_, _, row)| !row.tells.is_empty())
            .collect();
        if !told.is_empty() {
            h.push_str("<h3>Tells: what separates each method from its originals most</h3>\n<ul class=\"tight\">\n");
            for (ds, method, row) in told {
                let _ = writeln!(
                    h,
                    "<li>{} / <b>{}</b>: {}.</li>",
                    esc(ds),
                    esc(method),
                    row.tells
                        .iter()
                        .map(|t| esc(&t.text))
                        .collect::<Vec<_>>()
                        .join("; ")
                );
            }
            h.push_str("</ul>\n");
        }
        fake_measure_spreads(h, catalog);
        h.push_str("<ul class=\"tight\">\n");
        for (ds, d) in catalog {
            let l = &d.original_links;
            let _ = writeln!(
                h,
                "<li>{}: {} fakes; metadata names an original for {} ({} of those present), content matching found {}.</li>",
                esc(ds),
                d.fake_videos,
                l.named_by_metadata,
                l.named_original_present,
                l.found_by_content
            );
        }
        h.push_str("</ul>\n<p class=\"muted\">Medians per video, over the face frames (<code>faces</code> in <code>inventory.jsonl</code>). Face/background change: frame-to-frame luma change inside the face box over the change outside it; swapped faces that flicker sit above their originals. Boundary energy: luma gradient on the strongest line (per side) across a ring around the face-box edge, a blending mask's seam, over the gradient inside the face. Colour mismatch: CbCr distance between the face and the ring around it, 8-bit levels. Landmark jitter: landmark displacement to the next frame, face heights per frame. Originals: the metadata's, else dedup's content link.</p>\n");
    }
    let s2 = &inp.report.pipeline_recommendations.stage2_fake_generation;
    let list = |v: &mut dyn Iterator<Item = &str>| {
        let joined = v.map(esc).collect::<Vec<_>>().join(", ");
        if joined.is_empty() {
            "none".to_string()
        } else {
            joined
        }
    };
    let _ = writeln!(
        h,
        "<p>Generator families present: {}; missing: <b>{}</b>.</p>\n</section>",
        list(&mut s2.families_present.iter().copied()),
        list(&mut s2.families_missing.iter().copied())
    );
}

fn file_list(h: &mut String, rows: &[(&str, &str, &str)], total: usize, more_in: &str) {
    h.push_str("<table>\n<tr><th>dataset</th><th>file</th><th>reason</th></tr>\n");
    for (ds, path, why) in rows.iter().take(FILES_PER_LIST) {
        let _ = writeln!(
            h,
            "<tr><td>{}</td><td><code>{}</code></td><td>{}</td></tr>",
            esc(ds),
            esc(path),
            esc(why)
        );
    }
    h.push_str("</table>\n");
    if total > FILES_PER_LIST {
        let _ = writeln!(
            h,
            "<p class=\"muted\">… and {} more in {more_in}.</p>",
            thousands(total - FILES_PER_LIST)
        );
    }
}

/// A named quality flag and the test that gives a video's reason for it.
type QualityFlag = (&'static str, fn(&VideoRecord) -> Option<String>);

fn gaps_and_concerns(h: &mut String, inp: &Inputs<'_>) {
    h.push_str("<section id=\"gaps\">\n<h2>Diversity gaps and quality concerns</h2>\n<h3>Axes that could not be measured or balanced</h3>\n");
    let gaps = &inp.report.diversity_gaps;
    if gaps.is_empty() {
        h.push_str("<p>None: every axis was measured.</p>\n");
    } else {
        h.push_str("<ul class=\"tight\">\n");
        for g in gaps {
            let _ = writeln!(h, "<li><b>{}</b>: {}</li>", esc(&g.axis), esc(&g.reason));
        }
        h.push_str("</ul>\n");
    }
    // Quotas the selection missed, and why (diversity_balance.json).
    let short: Vec<String> = inp
        .balance
        .axes
        .iter()
        .filter(|(_, a)| !a.shortfalls.is_empty())
        .map(|(name, a)| format!("<li><b>{}</b>: {}</li>", esc(name), shortfalls_text(a)))
        .collect();
    h.push_str("<h3>Quotas not met</h3>\n");
    if short.is_empty() {
        let _ = writeln!(
            h,
            "<p>None: every category is within {} of its quota.</p>",
            policy::QUOTA_TOLERANCE
        );
    } else {
        let _ = writeln!(h, "<ul class=\"tight\">\n{}\n</ul>", short.join("\n"));
    }
    // Biases the selection still has, by the rules the input is judged by.
    h.push_str("<h3>Biases left in the selection</h3>\n");
    let residual = &inp.balance.residual_biases;
    if residual.is_empty() {
        h.push_str("<p>None: no selected category is over- or under-represented.</p>\n");
    } else {
        let parts: Vec<String> = residual
            .iter()
            .map(|b| {
                let kind = name_of(&b.kind);
                format!(
                    "{} <span class=\"{kind}\">{kind}-represented {}</span> ({}, {} selected)",
                    esc(&b.axis),
                    esc(&b.category),
                    pct(b.share),
                    b.count
                )
            })
            .collect();
        let _ = writeln!(h, "<p class=\"residual\">{}.</p>", parts.join("; "));
    }
    // Input problems, by kind.
    let mut by_kind: BTreeMap<String, Vec<(&str, &str, &str)>> = BTreeMap::new();
    for c in &inp.report.quality_concerns {
        by_kind.entry(name_of(&c.kind)).or_default().push((
            c.dataset.as_str(),
            c.path.as_str(),
            c.reason.as_str(),
        ));
    }
    h.push_str("<h3>Files that could not be used</h3>\n");
    if by_kind.is_empty() {
        h.push_str("<p>None.</p>\n");
    }
    for (kind, rows) in &by_kind {
        let _ = writeln!(
            h,
            "<p><b>{}</b>: {} file{}</p>",
            esc(&kind.replace('_', " ")),
            rows.len(),
            if rows.len() == 1 { "" } else { "s" }
        );
        file_list(h, rows, rows.len(), "report.json (quality_concerns)");
    }
    // Quality flags of readable videos.
    h.push_str("<h3>Quality flags of readable videos</h3>\n");
    let flags: [QualityFlag; 4] = [
        ("low light", |r| {
            let q = &r.frames.as_ref()?.quality;
            (q.lighting == quality::Lighting::LowLight)
                .then(|| format!("mean luma {:.0}", q.luma_mean.median))
        }),
        ("blurry", |r| {
            let q = &r.frames.as_ref()?.quality;
            (q.sharpness == quality::Sharpness::Blurry)
                .then(|| format!("Laplacian variance {:.1}", q.laplacian_var.median))
        }),
        ("static", |r| {
            let q = &r.frames.as_ref()?.quality;
            (q.motion == quality::Motion::Static).then(|| {
                format!(
                    "frame change {:.2}/s",
                    q.motion_per_s.as_ref().map_or(0.0, |m| m.median)
                )
            })
        }),
        ("shorter than one clip", |r| {
            let p = r.probe.as_ref()?;
            (r.labels.label == Label::Real && p.duration_s < policy::CLIP_LENGTH_S)
                .then(|| format!("real, {:.1} s", p.duration_s))
        }),
    ];
    let mut any = false;
    for (name, flag) in flags {
        let hits: Vec<(&str, &str, String)> = inp
            .records
            .iter()
            .filter(|r| r.is_readable())
            .filter_map(|r| flag(r).map(|why| (r.dataset.as_str(), r.path.as_str(), why)))
            .collect();
        if hits.is_empty() {
            continue;
        }
        any = true;
        let _ = writeln!(h, "<p><b>{name}</b>: {} videos</p>", hits.len());
        let rows: Vec<(&str, &str, &str)> =
            hits.iter().map(|(d, p, w)| (*d, *p, w.as_str())).collect();
        file_list(h, &rows, rows.len(), "inventory.jsonl");
    }
    if !any {
        h.push_str("<p>None.</p>\n");
    }
    h.push_str("</section>\n");
}

fn recommendations(h: &mut String, inp: &Inputs<'_>) {
    let r = &inp.report.pipeline_recommendations;
    let s1 = &r.stage1_real_selection;
    let s3 = &r.stage3_dataset_assembly;
    let _ = write!(
        h,
        "<section id=\"recommendations\">\n<h2>Recommendations</h2>\n<p><b>Stage 1, real selection:</b> {} videos, {} clips of {} s. {}</p>\n",
        s1.selected_videos,
        s1.expected_clip_count,
        s1.clip_strategy.clip_length_s,
        esc(s1.criteria)
    );
    let s2 = &r.stage2_fake_generation;
    let gens: Vec<String> = s2
        .generators
        .iter()
        .filter(|g| g.jobs > 0)
        .map(|g| format!("{} ({}) {}", esc(g.name), esc(g.family), g.jobs))
        .collect();
    let _ = writeln!(
        h,
        "<p><b>Stage 2, fake generation:</b> {} jobs in <code>{}</code>, one per real clip in its split: {}.{}</p>",
        s2.jobs_per_split.values().map(|s| s.fake_jobs).sum::<usize>(),
        s2.fake_jobs_file,
        if gens.is_empty() {
            "none".to_string()
        } else {
            gens.join(", ")
        },
        if s2.jobs_without_target > 0 {
            format!(
                " {} job{} need a second person their split does not have.",
                s2.jobs_without_target,
                if s2.jobs_without_target == 1 { "" } else { "s" }
            )
        } else {
            String::new()
        }
    );
    let splits: Vec<String> = s3
        .planned_splits
        .iter()
        .map(|(s, v)| format!("{} {} videos / {} clips", esc(s), v.videos, v.real_clips))
        .collect();
    let _ = writeln!(
        h,
        "<p><b>Stage 3, assembly:</b> {}; {}. Planned ({} groups, every clip in <code>{}</code>): {}.</p>",
        esc(s3.split_rule),
        esc(s3.balance),
        s3.groups,
        s3.clip_plan_file,
        if splits.is_empty() {
            "nothing selected".to_string()
        } else {
            splits.join(", ")
        }
    );
    if !s3.could_not_hold.is_empty() {
        let parts: Vec<String> = s3
            .could_not_hold
            .iter()
            .map(|d| {
                format!(
                    "{} {} in {}: {} clips for {:.1} planned ({})",
                    esc(&d.axis),
                    esc(&d.category),
                    esc(&d.split),
                    d.clips,
                    d.expected,
                    esc(&d.why)
                )
            })
            .collect();
        let _ = writeln!(
            h,
            "<p class=\"muted\">Split shares not held: {}.</p>",
            parts.join("; ")
        );
    }
    h.push_str("<ul class=\"tight\">\n");
    for (ds, d) in &inp.report.datasets {
        for rec in &d.recommendations {
            let _ = writeln!(h, "<li>{}: {}</li>", esc(ds), esc(rec));
        }
    }
    h.push_str("</ul>\n</section>\n");
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_markup_in_paths() {
        assert_eq!(esc("a<b>&\"c'"), "a&lt;b&gt;&amp;&quot;c&#39;");
    }

    #[test]
    fn bins_cover_the_line() {
        let b = Bins {
            key: "x",
            title: "x",
            edges: vec![5.0, 10.0],
            note: String::new(),
        };
        assert_eq!(b.bin(0.0), 0);
        assert_eq!(b.bin(5.0), 1);
        assert_eq!(b.bin(1e9), 2);
        assert_eq!(b.labels(), vec!["0–5", "5–10", "10+"]);
    }

    #[test]
    fn thousands_groups_digits() {
        assert_eq!(thousands(0), "0");
        assert_eq!(thousands(1234), "1,234");
        assert_eq!(thousands(1_234_567), "1,234,567");
    }
}
