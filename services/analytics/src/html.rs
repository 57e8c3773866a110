//! The report page: one self-contained HTML document (inline CSS and SVG, no
//! scripts, no external resources): the price with each trade's entry and exit
//! (as backtesting.py's plot), equity, drawdown, statistics and trades.

use std::fmt::Write;

use backtest::BacktestReport;
use bus::api::analytics::Performance;
use rust_decimal::prelude::ToPrimitive;

const WIDTH: f64 = 900.0;
const HEIGHT: f64 = 260.0;
const PAD: f64 = 48.0;
/// Points drawn per chart at most (the curve is thinned evenly beyond that).
const MAX_POINTS: usize = 1500;

pub fn escape(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
        .replace('\'', "&#39;")
}

/// Indices of at most `MAX_POINTS` points, first and last included.
fn thin(n: usize) -> Vec<usize> {
    if n <= MAX_POINTS {
        return (0..n).collect();
    }
    let step = n as f64 / (MAX_POINTS - 1) as f64;
    let mut idx: Vec<usize> = (0..MAX_POINTS - 1)
        .map(|i| (i as f64 * step) as usize)
        .collect();
    idx.push(n - 1);
    idx
}

fn date(ts: model::UnixNanos) -> String {
    ts.to_rfc3339().chars().take(10).collect()
}

/// A line (or, with `fill`, an area down to the top) chart of `values` over time.
fn chart(
    title: &str,
    times: &[model::UnixNanos],
    values: &[f64],
    fill: bool,
    color: &str,
) -> String {
    let n = values.len();
    let mut svg = String::new();
    let _ = write!(
        svg,
        r#"<figure><figcaption>{}</figcaption><svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{}">"#,
        escape(title),
        escape(title)
    );
    if n == 0 {
        svg.push_str("</svg></figure>");
        return svg;
    }
    let (lo, hi) = values
        .iter()
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(*v), hi.max(*v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (t0, t1) = (times[0].0 as f64, times[n - 1].0 as f64);
    let tspan = if t1 > t0 { t1 - t0 } else { 1.0 };
    let x = |i: usize| PAD + (times[i].0 as f64 - t0) / tspan * (WIDTH - 2.0 * PAD);
    let y = |v: f64| PAD / 2.0 + (hi - v) / span * (HEIGHT - 1.5 * PAD);
    let points: Vec<String> = thin(n)
        .into_iter()
        .map(|i| format!("{:.1},{:.1}", x(i), y(values[i])))
        .collect();
    let _ = write!(
        svg,
        r##"<line x1="{PAD}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}" stroke="#999"/><line x1="{PAD}" y1="{t:.1}" x2="{PAD}" y2="{b:.1}" stroke="#999"/>"##,
        b = HEIGHT - PAD,
        r = WIDTH - PAD,
        t = PAD / 2.0
    );
    if fill {
        let _ = write!(
            svg,
            r#"<polygon points="{:.1},{:.1} {} {:.1},{:.1}" fill="{color}" fill-opacity="0.35" stroke="{color}"/>"#,
            x(0),
            y(hi),
            points.join(" "),
            x(n - 1),
            y(hi)
        );
    } else {
        let _ = write!(
            svg,
            r#"<polyline points="{}" fill="none" stroke="{color}" stroke-width="1.5"/>"#,
            points.join(" ")
        );
    }
    let _ = write!(
        svg,
        r##"<text x="4" y="{:.1}" font-size="11">{}</text><text x="4" y="{:.1}" font-size="11">{}</text><text x="{PAD}" y="{:.1}" font-size="11">{}</text><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text></svg></figure>"##,
        y(hi) + 4.0,
        fmt_axis(hi),
        y(lo),
        fmt_axis(lo),
        HEIGHT - PAD + 16.0,
        date(times[0]),
        WIDTH - PAD,
        HEIGHT - PAD + 16.0,
        date(times[n - 1])
    );
    svg
}

fn fmt_axis(v: f64) -> String {
    let v = if v == 0.0 { 0.0 } else { v }; // no "-0.00"
    if v.abs() >= 1000.0 {
        format!("{v:.0}")
    } else {
        format!("{v:.2}")
    }
}

/// A page title naming the strategy and every parameter it ran with (defaults
/// filled in), e.g. `sma_cross fast=10 slow=20`.
pub fn strategy_title(kind: &str, params: &serde_json::Map<String, serde_json::Value>) -> String {
    let resolved = strategy::resolve_params(kind, params).unwrap_or_else(|_| params.clone());
    let mut title = kind.to_string();
    for (name, value) in &resolved {
        let _ = write!(title, " {name}={value}");
    }
    title
}

/// The close of one bar, for the price chart.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Price {
    pub ts: model::UnixNanos,
    pub close: f64,
}

impl Price {
    pub fn of(bar: &model::Bar) -> Price {
        Price {
            ts: bar.ts,
            close: bar.close.to_f64().unwrap_or(0.0),
        }
    }
}

/// The close over time with every trade: its entry (a triangle, up for a long,
/// down for a short), its exit (a circle) and a dashed line between them,
/// green when it made money, red when it lost.
fn price_chart(prices: &[Price], trades: &[backtest::Trade]) -> String {
    let mut svg = String::new();
    let title = "Price, entries and exits";
    let _ = write!(
        svg,
        r#"<figure><figcaption>{title} <span class="legend">&#9650; long entry &#9660; short entry &#9675; exit</span></figcaption><svg class="price" xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{title}">"#
    );
    let n = prices.len();
    if n == 0 {
        svg.push_str("</svg></figure>");
        return svg;
    }
    let price = |d: rust_decimal::Decimal| d.to_f64().unwrap_or(0.0);
    let (lo, hi) = prices
        .iter()
        .map(|p| p.close)
        .chain(
            trades
                .iter()
                .flat_map(|t| [price(t.entry_price), price(t.exit_price)]),
        )
        .fold((f64::MAX, f64::MIN), |(lo, hi), v| (lo.min(v), hi.max(v)));
    let span = if hi > lo { hi - lo } else { 1.0 };
    let (t0, t1) = (prices[0].ts.0 as f64, prices[n - 1].ts.0 as f64);
    let tspan = if t1 > t0 { t1 - t0 } else { 1.0 };
    let x = |ts: model::UnixNanos| {
        let t = (ts.0 as f64).clamp(t0, t1);
        PAD + (t - t0) / tspan * (WIDTH - 2.0 * PAD)
    };
    let y = |v: f64| PAD / 2.0 + (hi - v) / span * (HEIGHT - 1.5 * PAD);
    let points: Vec<String> = thin(n)
        .into_iter()
        .map(|i| format!("{:.1},{:.1}", x(prices[i].ts), y(prices[i].close)))
        .collect();
    let _ = write!(
        svg,
        r##"<line x1="{PAD}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}" stroke="#999"/><line x1="{PAD}" y1="{t:.1}" x2="{PAD}" y2="{b:.1}" stroke="#999"/><polyline points="{}" fill="none" stroke="#444" stroke-width="1"/>"##,
        points.join(" "),
        b = HEIGHT - PAD,
        r = WIDTH - PAD,
        t = PAD / 2.0
    );
    for (i, t) in trades.iter().enumerate() {
        let color = if t.pnl.is_sign_negative() {
            "#c62828"
        } else {
            "#1a7f37"
        };
        let (ex, ey) = (x(t.entry_time), y(price(t.entry_price)));
        let (xx, xy) = (x(t.exit_time), y(price(t.exit_price)));
        let (side, tip) = if t.size >= 0 {
            ("long", format!("M{ex:.1},{:.1}l-4,7h8z", ey - 3.5))
        } else {
            ("short", format!("M{ex:.1},{:.1}l-4,-7h8z", ey + 3.5))
        };
        let _ = write!(
            svg,
            r#"<g class="trade"><line x1="{ex:.1}" y1="{ey:.1}" x2="{xx:.1}" y2="{xy:.1}" stroke="{color}" stroke-dasharray="3,2"/><path class="entry {side}" d="{tip}" fill="{color}"><title>#{n} {side} entry {size} @ {ep} on {ed}</title></path><circle class="exit" cx="{xx:.1}" cy="{xy:.1}" r="3" fill="none" stroke="{color}"><title>#{n} exit @ {xp} on {xd}, P&amp;L {pnl}</title></circle></g>"#,
            n = i + 1,
            size = t.size.abs(),
            ep = t.entry_price,
            ed = date(t.entry_time),
            xp = t.exit_price,
            xd = date(t.exit_time),
            pnl = t.pnl.round_dp(2),
        );
    }
    let _ = write!(
        svg,
        r##"<text x="4" y="{:.1}" font-size="11">{}</text><text x="4" y="{:.1}" font-size="11">{}</text><text x="{PAD}" y="{:.1}" font-size="11">{}</text><text x="{:.1}" y="{:.1}" font-size="11" text-anchor="end">{}</text></svg></figure>"##,
        y(hi) + 4.0,
        fmt_axis(hi),
        y(lo),
        fmt_axis(lo),
        HEIGHT - PAD + 16.0,
        date(prices[0].ts),
        WIDTH - PAD,
        HEIGHT - PAD + 16.0,
        date(prices[n - 1].ts)
    );
    svg
}

/// The page. `prices` are the closes of the bars the report is about (empty:
/// no price chart).
pub fn render(
    title: &str,
    performance: &Performance,
    report: &BacktestReport,
    prices: &[Price],
) -> String {
    let times: Vec<model::UnixNanos> = report.equity.iter().map(|p| p.ts).collect();
    let equity: Vec<f64> = report
        .equity
        .iter()
        .map(|p| p.equity.to_f64().unwrap_or(0.0))
        .collect();
    let drawdown: Vec<f64> = report.equity.iter().map(|p| -p.drawdown * 100.0).collect();
    let mut page = String::new();
    let _ = write!(
        page,
        r#"<!doctype html><html lang="en"><head><meta charset="utf-8"><title>{t}</title><style>
body{{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#222}}h1{{font-size:20px}}
table{{border-collapse:collapse;margin:12px 0}}td,th{{padding:2px 10px;border-bottom:1px solid #eee;text-align:right}}
td:first-child,th:first-child{{text-align:left}}figure{{margin:12px 0}}svg{{width:100%;max-width:{WIDTH}px;height:auto;background:#fafafa}}
.pos{{color:#1a7f37}}.neg{{color:#c62828}}.legend{{color:#666;font-size:12px;margin-left:8px}}</style></head><body><h1>{t}</h1>"#,
        t = escape(title)
    );
    let excess = performance
        .excess_return_pct
        .map(|e| {
            format!(
                r#"<p>Return minus buy &amp; hold return: <b class="{}">{e:+.2} percentage points</b></p>"#,
                if e >= 0.0 { "pos" } else { "neg" }
            )
        })
        .unwrap_or_default();
    page.push_str(&excess);
    if !prices.is_empty() {
        page.push_str(&price_chart(prices, &report.trades));
    }
    page.push_str(&chart("Equity", &times, &equity, false, "#1f6feb"));
    page.push_str(&chart("Drawdown [%]", &times, &drawdown, true, "#c62828"));
    page.push_str("<h2>Statistics</h2><table class=\"stats\">");
    for (name, value) in performance.stats.named() {
        let _ = write!(
            page,
            "<tr><td>{}</td><td>{}</td></tr>",
            escape(name),
            escape(&value)
        );
    }
    page.push_str("</table><h2>Trades</h2><table class=\"trades\"><tr><th>#</th><th>size</th><th>entry</th><th>exit</th><th>entry price</th><th>exit price</th><th>P&amp;L</th><th>return %</th></tr>");
    for (i, t) in report.trades.iter().enumerate() {
        let class = if t.pnl.is_sign_negative() {
            "neg"
        } else {
            "pos"
        };
        let _ = write!(
            page,
            r#"<tr><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td class="{class}">{}</td><td class="{class}">{:.2}</td></tr>"#,
            i + 1,
            t.size,
            date(t.entry_time),
            date(t.exit_time),
            t.entry_price,
            t.exit_price,
            t.pnl.round_dp(2),
            t.return_pct * 100.0
        );
    }
    page.push_str("</table></body></html>\n");
    page
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn escapes_and_thins() {
        assert_eq!(
            escape("<a href=\"x\">&'"),
            "&lt;a href=&quot;x&quot;&gt;&amp;&#39;"
        );
        let idx = thin(10_000);
        assert_eq!(idx.len(), MAX_POINTS);
        assert_eq!((idx[0], *idx.last().unwrap()), (0, 9_999));
        assert_eq!(thin(5), vec![0, 1, 2, 3, 4]);
    }
}
