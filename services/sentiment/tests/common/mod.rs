//! The committed finance headlines and their expected signs.

pub fn headlines() -> Vec<(f64, String)> {
    let path = testkit::paths::repo_root().join("testdata/finance_headlines.tsv");
    std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e}", path.display()))
        .lines()
        .filter(|l| !l.starts_with('#') && !l.trim().is_empty())
        .map(|l| {
            let (sign, text) = l.split_once('\t').expect("sign<TAB>headline");
            let sign = match sign {
                "+" => 1.0,
                "-" => -1.0,
                other => panic!("bad sign {other:?}"),
            };
            (sign, text.to_string())
        })
        .collect()
}
