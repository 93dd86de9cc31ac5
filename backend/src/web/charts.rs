//! Charts drawn on the server as inline SVG: horizontal bars, share bars and line charts
//! with gaps. Every mark carries a `<title>` (the browser's tooltip) and every chart a
//! title and description for screen readers. Colours come from CSS classes (`c0`…`c7`),
//! so light and dark themes both apply.

use std::fmt::Write as _;

use chrono::NaiveDate;

/// How many distinct colours the palette has (then "other").
pub(crate) const PALETTE: usize = 8;

/// Escapes text for SVG/HTML.
pub(crate) fn esc(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            _ => out.push(c),
        }
    }
    out
}

/// `12345` → `12,345`.
pub(crate) fn thousands(n: u64) -> String {
    let digits = n.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push(',');
        }
        out.push(c);
    }
    out
}

/// `1234` → `+1,234`, `-5` → `-5`.
pub(crate) fn signed(n: i64) -> String {
    let sign = if n < 0 { "-" } else { "+" };
    format!("{sign}{}", thousands(n.unsigned_abs()))
}

/// `12345` → `12.3k`, for axis labels.
pub(crate) fn compact(n: f64) -> String {
    let a = n.abs();
    if a >= 1e9 {
        format!("{:.1}B", n / 1e9)
    } else if a >= 1e6 {
        format!("{:.1}M", n / 1e6)
    } else if a >= 1e4 {
        format!("{:.0}k", n / 1e3)
    } else if a >= 1e3 {
        format!("{:.1}k", n / 1e3)
    } else {
        format!("{n:.0}")
    }
}

/// Axis labels for `ticks`: compact (`55k`) unless that makes two neighbours read the
/// same (a narrow range), then in full (`54,750`).
fn axis_labels(ticks: &[f64]) -> Vec<String> {
    let short: Vec<String> = ticks.iter().map(|v| compact(*v)).collect();
    if short.windows(2).all(|w| w[0] != w[1]) {
        return short;
    }
    ticks
        .iter()
        .map(|v| {
            let sign = if *v < 0.0 { "-" } else { "" };
            format!("{sign}{}", thousands(v.abs().round() as u64))
        })
        .collect()
}

fn open_svg(out: &mut String, id: &str, title: &str, desc: &str, width: u32, height: u32) {
    let _ = write!(
        out,
        r#"<svg class="chart" viewBox="0 0 {width} {height}" role="img" aria-labelledby="{id}-t {id}-d" preserveAspectRatio="xMinYMin meet"><title id="{id}-t">{}</title><desc id="{id}-d">{}</desc>"#,
        esc(title),
        esc(desc)
    );
}

fn empty(id: &str, title: &str, note: &str) -> String {
    let mut out = String::new();
    open_svg(&mut out, id, title, note, 600, 60);
    let _ = write!(
        out,
        r#"<text class="muted" x="8" y="34">{}</text></svg>"#,
        esc(note)
    );
    out
}

/// One bar of a bar chart.
#[derive(Debug, Clone)]
pub(crate) struct Bar {
    pub label: String,
    pub value: u64,
    /// Where the label links to.
    pub href: Option<String>,
}

/// How wide a chart is drawn: a normal panel, or one spanning the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Width {
    Panel,
    Wide,
}

impl Width {
    fn units(self) -> f64 {
        match self {
            Width::Panel => 600.0,
            Width::Wide => 1150.0,
        }
    }
}

/// Horizontal bars, largest first as given. `unit` names the value ("stars").
pub(crate) fn bars(id: &str, title: &str, bars: &[Bar], unit: &str, size: Width) -> String {
    if bars.is_empty() {
        return empty(id, title, "No data yet.");
    }
    let width = size.units() as u32;
    let (label_w, row_h) = (if size == Width::Wide { 260.0 } else { 190.0 }, 26.0);
    let bar_w = f64::from(width) - label_w - 80.0;
    let height = (bars.len() as f64 * row_h + 8.0) as u32;
    let max = bars.iter().map(|b| b.value).max().unwrap_or(0).max(1) as f64;
    let desc = bars
        .iter()
        .take(5)
        .map(|b| format!("{} {} {unit}", b.label, thousands(b.value)))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = String::new();
    open_svg(
        &mut out,
        id,
        title,
        &format!("Bar chart. {desc}."),
        width,
        height,
    );
    for (i, bar) in bars.iter().enumerate() {
        let y = 4.0 + i as f64 * row_h;
        let w = (bar.value as f64 / max * bar_w).max(1.5);
        let label = truncate(&bar.label, if size == Width::Wide { 38 } else { 26 });
        let _ = write!(
            out,
            r#"<g class="bar"><title>{}: {} {unit}</title>"#,
            esc(&bar.label),
            thousands(bar.value)
        );
        match &bar.href {
            Some(href) => {
                let _ = write!(
                    out,
                    r#"<a href="{}"><text class="label" x="{}" y="{}" text-anchor="end">{}</text></a>"#,
                    esc(href),
                    label_w - 8.0,
                    y + 16.0,
                    esc(&label)
                );
            }
            None => {
                let _ = write!(
                    out,
                    r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text>"#,
                    label_w - 8.0,
                    y + 16.0,
                    esc(&label)
                );
            }
        }
        let _ = write!(
            out,
            r#"<rect class="c{}" x="{label_w}" y="{}" width="{w:.1}" height="{}" rx="3"/><text class="value" x="{:.1}" y="{}">{}</text></g>"#,
            i % PALETTE,
            y + 3.0,
            row_h - 8.0,
            label_w + w + 6.0,
            y + 16.0,
            thousands(bar.value)
        );
    }
    out.push_str("</svg>");
    out
}

/// A row of a share chart: its parts add up to 100 %.
#[derive(Debug, Clone)]
pub(crate) struct ShareRow {
    pub label: String,
    pub parts: Vec<(String, u64)>,
}

/// 100 % stacked bars, one per row, with a shared legend. Parts beyond the top
/// `PALETTE - 1` (over all rows) are folded into "Other". `unit` names the values.
pub(crate) fn shares(id: &str, title: &str, rows: &[ShareRow], unit: &str) -> String {
    let rows: Vec<&ShareRow> = rows
        .iter()
        .filter(|r| r.parts.iter().any(|(_, v)| *v > 0))
        .collect();
    if rows.is_empty() {
        return empty(id, title, "No data yet.");
    }
    // The legend: the names with the largest share summed over rows.
    let mut weight: Vec<(String, f64)> = Vec::new();
    for row in &rows {
        let total: u64 = row.parts.iter().map(|(_, v)| v).sum();
        for (name, value) in &row.parts {
            let share = *value as f64 / total.max(1) as f64;
            match weight.iter_mut().find(|(n, _)| n == name) {
                Some((_, w)) => *w += share,
                None => weight.push((name.clone(), share)),
            }
        }
    }
    weight.sort_by(|a, b| b.1.total_cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
    let named: Vec<String> = weight
        .iter()
        .take(PALETTE - 1)
        .map(|(n, _)| n.clone())
        .collect();
    let has_other = weight.len() > named.len();

    let single = rows.len() == 1;
    let (label_w, bar_w, row_h, width) = (
        if single { 0.0 } else { 150.0 },
        if single { 600.0 } else { 450.0 },
        30.0,
        600u32,
    );
    let legend_rows = (named.len() + usize::from(has_other)).div_ceil(4);
    let height = (rows.len() as f64 * row_h + 10.0 + legend_rows as f64 * 20.0) as u32;
    let mut out = String::new();
    let desc = weight
        .iter()
        .take(4)
        .map(|(n, w)| format!("{n} {:.0}%", w / rows.len() as f64 * 100.0))
        .collect::<Vec<_>>()
        .join(", ");
    open_svg(
        &mut out,
        id,
        title,
        &format!("Share chart. {desc}."),
        width,
        height,
    );
    for (r, row) in rows.iter().enumerate() {
        let y = r as f64 * row_h + 4.0;
        if !single {
            let _ = write!(
                out,
                r#"<text class="label" x="{}" y="{}" text-anchor="end">{}</text>"#,
                label_w - 8.0,
                y + 17.0,
                esc(&truncate(&row.label, 20))
            );
        }
        let total: u64 = row.parts.iter().map(|(_, v)| v).sum();
        let mut folded: Vec<(String, u64, String)> = Vec::new();
        let mut other = 0u64;
        for (name, value) in &row.parts {
            match named.iter().position(|n| n == name) {
                Some(i) => folded.push((name.clone(), *value, format!("c{i}"))),
                None => other += value,
            }
        }
        folded.sort_by_key(|(name, _, _)| named.iter().position(|n| n == name));
        if other > 0 {
            folded.push(("Other".into(), other, "c-other".into()));
        }
        let mut x = label_w;
        for (name, value, class) in folded {
            let w = value as f64 / total.max(1) as f64 * bar_w;
            let pct = value as f64 / total.max(1) as f64 * 100.0;
            let _ = write!(
                out,
                r#"<rect class="{class}" x="{x:.2}" y="{}" width="{w:.2}" height="{}"><title>{}{}: {pct:.1}% ({} {unit})</title></rect>"#,
                y,
                row_h - 8.0,
                if single {
                    String::new()
                } else {
                    format!("{} — ", esc(&row.label))
                },
                esc(&name),
                thousands(value)
            );
            x += w;
        }
    }
    let legend_y = rows.len() as f64 * row_h + 12.0;
    let single_total: u64 = rows[0].parts.iter().map(|(_, v)| v).sum();
    let percent = |name: &str| -> String {
        if !single {
            return String::new();
        }
        let value: u64 = if name == "Other" {
            rows[0]
                .parts
                .iter()
                .filter(|(n, _)| !named.contains(n))
                .map(|(_, v)| v)
                .sum()
        } else {
            rows[0]
                .parts
                .iter()
                .filter(|(n, _)| n == name)
                .map(|(_, v)| v)
                .sum()
        };
        format!(" {:.0}%", value as f64 / single_total.max(1) as f64 * 100.0)
    };
    let entries = named
        .iter()
        .enumerate()
        .map(|(i, n)| (n.clone(), format!("c{i}")))
        .chain(has_other.then(|| ("Other".to_string(), "c-other".to_string())));
    for (i, (name, class)) in entries.enumerate() {
        let x = (i % 4) as f64 * 150.0;
        let y = legend_y + (i / 4) as f64 * 20.0;
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x}" y="{y}" width="12" height="12" rx="2"/><text class="legend" x="{}" y="{}">{}</text>"#,
            x + 17.0,
            y + 10.5,
            esc(&format!(
                "{}{}",
                truncate(&name, if single { 13 } else { 18 }),
                percent(&name)
            ))
        );
    }
    out.push_str("</svg>");
    out
}

/// A thin 100 % bar for a card: `parts` are (name, percent, class), already folded.
pub(crate) fn mini_share(parts: &[(String, f64, String)]) -> String {
    let label = parts
        .iter()
        .map(|(n, p, _)| format!("{n} {p:.0}%"))
        .collect::<Vec<_>>()
        .join(", ");
    let mut out = format!(
        r#"<svg class="langbar" viewBox="0 0 100 8" preserveAspectRatio="none" role="img" aria-label="Top languages: {}">"#,
        esc(&label)
    );
    let mut x = 0.0;
    for (name, pct, class) in parts {
        let _ = write!(
            out,
            r#"<rect class="{class}" x="{x:.2}" y="0" width="{pct:.2}" height="8"><title>{} {pct:.0}%</title></rect>"#,
            esc(name)
        );
        x += pct;
    }
    out.push_str("</svg>");
    out
}

/// A small line for a table cell: one value per day, `None` a gap. Empty (the cell shows
/// nothing drawn) with fewer than two values. `label` is what a screen reader says.
pub(crate) fn sparkline(values: &[Option<u64>], label: &str) -> String {
    let known: Vec<u64> = values.iter().flatten().copied().collect();
    if known.len() < 2 {
        return String::new();
    }
    let (min, max) = (
        known.iter().min().copied().unwrap_or(0),
        known.iter().max().copied().unwrap_or(0),
    );
    let (width, height) = (80.0, 20.0);
    let step = width / (values.len().max(2) - 1) as f64;
    let y = |v: u64| {
        if max == min {
            height / 2.0
        } else {
            height - 2.0 - (v - min) as f64 / (max - min) as f64 * (height - 4.0)
        }
    };
    let mut path = String::new();
    let mut joined = false;
    for (i, v) in values.iter().enumerate() {
        match v {
            Some(v) => {
                let _ = write!(
                    path,
                    "{}{:.1},{:.1} ",
                    if joined { "L" } else { "M" },
                    i as f64 * step,
                    y(*v)
                );
                joined = true;
            }
            None => joined = false,
        }
    }
    format!(
        r#"<svg class="spark" viewBox="0 0 {width} {height}" width="{width}" height="{height}" role="img" aria-label="{}"><title>{}</title><path d="{}"/></svg>"#,
        esc(label),
        esc(label),
        path.trim_end()
    )
}

/// One line of a line chart: a value per day, `None` where there is no data (drawn as a
/// gap, never as zero).
#[derive(Debug, Clone)]
pub(crate) struct Series {
    pub name: String,
    pub points: Vec<(NaiveDate, Option<u64>)>,
}

/// Lines over days. Days without a value break the line.
pub(crate) fn lines(id: &str, title: &str, series: &[Series], unit: &str, size: Width) -> String {
    lines_every(id, title, series, unit, size, 1)
}

/// Lines over points `step` days apart (7: one a week); a missing point breaks the line.
pub(crate) fn lines_every(
    id: &str,
    title: &str,
    series: &[Series],
    unit: &str,
    size: Width,
    step: i64,
) -> String {
    let days: Vec<NaiveDate> = series
        .iter()
        .flat_map(|s| s.points.iter().filter(|p| p.1.is_some()).map(|p| p.0))
        .collect();
    let (Some(first), Some(last)) = (days.iter().min().copied(), days.iter().max().copied()) else {
        return empty(
            id,
            title,
            "No history yet: a point is added after each day's refresh.",
        );
    };
    let (left, right, top, plot_h, width) = (
        56.0,
        16.0,
        10.0,
        if size == Width::Wide { 220.0 } else { 180.0 },
        size.units(),
    );
    let legend_h = if series.len() > 1 {
        20.0 * series.len().div_ceil(4) as f64
    } else {
        0.0
    };
    let height = top + plot_h + 28.0 + legend_h;
    let span = (last - first).num_days().max(1) as f64;
    let values = || {
        series
            .iter()
            .flat_map(|s| s.points.iter().filter_map(|p| p.1))
    };
    let (min, max) = (values().min().unwrap_or(0), values().max().unwrap_or(0));
    // A trend is read from its changes: start the axis near the data unless it is close
    // to zero anyway (the axis labels say where it starts).
    let (y_min, y_max) = axis_range(min as f64, max as f64);
    let x = |d: NaiveDate| left + (d - first).num_days() as f64 / span * (width - left - right);
    let y = |v: u64| top + plot_h - (v as f64 - y_min) / (y_max - y_min) * plot_h;

    let mut out = String::new();
    let latest = series
        .iter()
        .filter_map(|s| {
            s.points
                .iter()
                .rev()
                .find_map(|p| p.1)
                .map(|v| format!("{} {} {unit}", s.name, thousands(v)))
        })
        .collect::<Vec<_>>()
        .join(", ");
    open_svg(
        &mut out,
        id,
        title,
        &format!("Line chart from {first} to {last}. Latest: {latest}."),
        width as u32,
        height as u32,
    );
    let ticks: Vec<f64> = (0..=4)
        .map(|i| y_min + (y_max - y_min) / 4.0 * f64::from(i))
        .collect();
    let labels = axis_labels(&ticks);
    for (i, label) in labels.iter().enumerate() {
        let yy = top + plot_h - plot_h * i as f64 / 4.0;
        let _ = write!(
            out,
            r#"<line class="grid" x1="{left}" x2="{}" y1="{yy:.1}" y2="{yy:.1}"/><text class="axis" x="{}" y="{:.1}" text-anchor="end">{}</text>"#,
            width - right,
            left - 6.0,
            yy + 4.0,
            label
        );
    }
    let mid = first + chrono::Duration::days((last - first).num_days() / 2);
    for (d, anchor) in [(first, "start"), (mid, "middle"), (last, "end")] {
        if d == mid && (last - first).num_days() < 2 {
            continue;
        }
        let _ = write!(
            out,
            r#"<text class="axis" x="{:.1}" y="{}" text-anchor="{anchor}">{}</text>"#,
            x(d),
            top + plot_h + 18.0,
            d.format("%b %-d, %Y")
        );
    }
    for (i, s) in series.iter().enumerate() {
        let class = format!("c{}", i % PALETTE);
        let mut points: Vec<(NaiveDate, Option<u64>)> = s.points.clone();
        points.sort_by_key(|p| p.0);
        // Consecutive points with values form one segment; a missing one starts a new one.
        let mut path = String::new();
        let mut previous: Option<NaiveDate> = None;
        for (d, v) in &points {
            match v {
                Some(v) => {
                    let joined = previous.is_some_and(|p| (*d - p).num_days() == step);
                    let _ = write!(
                        path,
                        "{}{:.1},{:.1} ",
                        if joined { "L" } else { "M" },
                        x(*d),
                        y(*v)
                    );
                    previous = Some(*d);
                }
                None => previous = None,
            }
        }
        let _ = write!(
            out,
            r#"<path class="line {class}" d="{}"/>"#,
            path.trim_end()
        );
        for (d, v) in points.iter().filter_map(|(d, v)| v.map(|v| (d, v))) {
            let _ = write!(
                out,
                r#"<circle class="dot {class}" cx="{:.1}" cy="{:.1}" r="3"><title>{}: {} {unit} on {d}</title></circle>"#,
                x(*d),
                y(v),
                esc(&s.name),
                thousands(v)
            );
        }
    }
    if series.len() > 1 {
        for (i, s) in series.iter().enumerate() {
            let lx = (i % 4) as f64 * ((width - left) / 4.0) + left;
            let ly = top + plot_h + 30.0 + (i / 4) as f64 * 20.0;
            let _ = write!(
                out,
                r#"<rect class="c{}" x="{lx}" y="{ly}" width="12" height="12" rx="2"/><text class="legend" x="{}" y="{}">{}</text>"#,
                i % PALETTE,
                lx + 17.0,
                ly + 10.5,
                esc(&truncate(&s.name, 15))
            );
        }
    }
    out.push_str("</svg>");
    out
}

/// The y-axis bounds for values from `min` to `max`: from zero when the data is near it,
/// otherwise a round number a little below the minimum. A range from zero spans at least
/// 4, so that its five labels (whole numbers) never repeat one another.
fn axis_range(min: f64, max: f64) -> (f64, f64) {
    if max <= 0.0 {
        return (0.0, 4.0);
    }
    if min < max * 0.4 {
        return (0.0, nice_ceiling(max).max(4.0));
    }
    let pad = ((max - min) * 0.15).max(max * 0.002).max(1.0);
    let step = nice_ceiling((max - min + 2.0 * pad) / 4.0);
    let low = ((min - pad) / step).floor() * step;
    let mut high = low + 4.0 * step;
    while high < max {
        high += step;
    }
    (low.max(0.0), high)
}

/// The smallest 1/2/2.5/5 × 10^n at or above `v`.
fn nice_ceiling(v: f64) -> f64 {
    let magnitude = 10f64.powf(v.log10().floor());
    for step in [1.0, 2.0, 2.5, 5.0, 10.0] {
        if step * magnitude >= v {
            return step * magnitude;
        }
    }
    10.0 * magnitude
}

fn truncate(text: &str, max: usize) -> String {
    if text.chars().count() <= max {
        text.to_owned()
    } else {
        let cut: String = text.chars().take(max - 1).collect();
        format!("{cut}…")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn d(s: &str) -> NaiveDate {
        s.parse().expect("date")
    }

    #[test]
    fn points_a_week_apart_join_only_when_drawn_weekly() {
        let weekly = [Series {
            name: "Opened".into(),
            points: vec![
                (d("2026-03-02"), Some(3)),
                (d("2026-03-09"), Some(5)),
                (d("2026-03-23"), Some(1)),
            ],
        }];
        let path = |svg: &str| {
            let line = svg.find("<path class=\"line").expect("a line");
            let start = line + svg[line..].find(" d=\"").expect("its points") + 4;
            svg[start..start + svg[start..].find('"').expect("its end")].to_owned()
        };
        let joined = path(&lines_every("w", "Weekly", &weekly, "x", Width::Panel, 7));
        assert_eq!(
            joined.matches('L').count(),
            1,
            "the missing week breaks the line: {joined}"
        );
        let daily = path(&lines("w", "Weekly", &weekly, "x", Width::Panel));
        assert_eq!(daily.matches('L').count(), 0, "{daily}");
    }

    #[test]
    fn numbers_read_well() {
        assert_eq!(thousands(1234567), "1,234,567");
        assert_eq!(thousands(12), "12");
        assert_eq!(signed(-1234), "-1,234");
        assert_eq!(signed(0), "+0");
        assert_eq!(axis_range(0.0, 7.0), (0.0, 10.0));
        // Small counts: whole-number labels, none repeated.
        for max in [0.0, 1.0, 2.0, 2.5] {
            assert_eq!(axis_range(0.0, max), (0.0, 4.0), "{max}");
        }
        let (low, high) = axis_range(950_000.0, 1_000_000.0);
        assert!(
            low > 900_000.0 && low <= 950_000.0 && high >= 1_000_000.0,
            "{low}..{high}"
        );
        assert_eq!(compact(12_345.0), "12k");
        assert_eq!(compact(1_500.0), "1.5k");
        assert_eq!(
            axis_labels(&[54_500.0, 54_625.0, 54_750.0]),
            ["54,500", "54,625", "54,750"],
            "a narrow range is labelled in full"
        );
        assert_eq!(axis_labels(&[0.0, 25_000.0]), ["0", "25k"]);
        assert_eq!(nice_ceiling(7.0), 10.0);
        assert_eq!(nice_ceiling(180.0), 200.0);
        assert_eq!(nice_ceiling(2100.0), 2500.0);
    }

    #[test]
    fn bars_escape_labels_and_title_every_bar() {
        let svg = bars(
            "b",
            "Stars",
            &[
                Bar {
                    label: "<evil>".into(),
                    value: 10,
                    href: Some("/x?a=1&b=2".into()),
                },
                Bar {
                    label: "ok".into(),
                    value: 5,
                    href: None,
                },
            ],
            "stars",
            Width::Panel,
        );
        assert!(svg.contains("&lt;evil&gt;") && !svg.contains("<evil>"));
        assert!(svg.contains("/x?a=1&amp;b=2"));
        assert_eq!(
            svg.matches("<title").count(),
            3,
            "chart title + one per bar"
        );
        assert!(svg.contains(r#"role="img""#));
    }

    #[test]
    fn a_missing_day_is_a_gap_not_a_zero() {
        let s = Series {
            name: "stars".into(),
            points: vec![
                (d("2026-01-01"), Some(10)),
                (d("2026-01-02"), Some(12)),
                (d("2026-01-04"), Some(15)),
            ],
        };
        let svg = lines("l", "Stars", &[s], "stars", Width::Panel);
        let path = svg
            .split(r#" d=""#)
            .nth(1)
            .expect("a path")
            .split('"')
            .next()
            .expect("path data");
        assert_eq!(path.matches('M').count(), 2, "two segments: {path}");
        assert_eq!(path.matches('L').count(), 1, "{path}");
        assert_eq!(svg.matches("<circle").count(), 3);
        assert!(lines("e", "Stars", &[], "stars", Width::Wide).contains("No history yet"));
    }

    #[test]
    fn shares_fold_small_parts_into_other() {
        let parts: Vec<(String, u64)> = (0..10).map(|i| (format!("L{i}"), 100 - i)).collect();
        let svg = shares(
            "s",
            "Languages",
            &[ShareRow {
                label: "org".into(),
                parts,
            }],
            "bytes",
        );
        assert!(svg.contains(">Other "), "legend shows Other with its share");
        assert_eq!(
            svg.matches(r#"class="c-other""#).count(),
            2,
            "one segment and one legend swatch"
        );
    }
}
