//! Monospace tables for Telegram (`<pre>`, HTML-escaped).

/// Columns padded to their widest cell; numbers would read better
/// right-aligned, but left keeps every cell where the eye expects it.
pub fn table(headers: &[&str], rows: &[Vec<String>]) -> String {
    let mut widths: Vec<usize> = headers.iter().map(|h| h.chars().count()).collect();
    for row in rows {
        for (i, cell) in row.iter().enumerate() {
            if i < widths.len() {
                widths[i] = widths[i].max(cell.chars().count());
            }
        }
    }
    let render = |cells: Vec<&str>| {
        cells
            .iter()
            .enumerate()
            .map(|(i, c)| format!("{c:<w$}", w = widths.get(i).copied().unwrap_or(0)))
            .collect::<Vec<_>>()
            .join("  ")
            .trim_end()
            .to_string()
    };
    let mut lines = vec![render(headers.to_vec())];
    lines.push(
        widths
            .iter()
            .map(|w| "-".repeat(*w))
            .collect::<Vec<_>>()
            .join("  "),
    );
    for row in rows {
        lines.push(render(row.iter().map(String::as_str).collect()));
    }
    pre(&lines.join("\n"))
}

/// Two columns: name and value.
pub fn pairs(rows: &[(&str, String)]) -> String {
    let width = rows
        .iter()
        .map(|(k, _)| k.chars().count())
        .max()
        .unwrap_or(0);
    let lines: Vec<String> = rows
        .iter()
        .map(|(k, v)| format!("{k:<width$}  {v}"))
        .collect();
    pre(&lines.join("\n"))
}

pub fn pre(text: &str) -> String {
    format!("<pre>{}</pre>", escape(text))
}

pub fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn columns_line_up_and_html_is_escaped() {
        let t = table(
            &["symbol", "qty"],
            &[
                vec!["A<B".into(), "10".into()],
                vec!["GOOG".into(), "5".into()],
            ],
        );
        assert_eq!(
            t,
            "<pre>symbol  qty\n------  ---\nA&lt;B     10\nGOOG    5</pre>"
        );
    }
}
