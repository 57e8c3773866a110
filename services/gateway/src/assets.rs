//! Static files of the dashboard (`services/gateway/web/`), embedded in the
//! binary with `include_bytes!` (no CDN, no network at run time, no Node on the
//! machine that runs it). `/` is `index.html`; `/assets/<path>` the file at
//! `web/<path>`, looked up by exact name in [`FILES`] only, so no request can
//! reach anything else (`..`, encoded slashes and absolute paths find nothing).
//! The test below fails when a file under `web/` that the page loads is
//! missing from the table.

/// MIME type of a file by its extension.
const fn mime(ext: &str) -> &'static str {
    match ext.as_bytes() {
        b"html" => "text/html; charset=utf-8",
        b"js" => "text/javascript; charset=utf-8",
        b"css" => "text/css; charset=utf-8",
        _ => "text/plain; charset=utf-8",
    }
}

macro_rules! files {
    ($($path:literal: $ext:literal),* $(,)?) => {
        /// Every embedded file: path under `web/`, MIME type, bytes.
        pub static FILES: &[(&str, &str, &[u8])] = &[
            $(($path, mime($ext), include_bytes!(concat!("../web/", $path))),)*
        ];
    };
}

files! {
    "index.html": "html",
    "style.css": "css",
    "src/main.js": "js",
    "src/api.js": "js",
    "src/live.js": "js",
    "src/util.js": "js",
    "src/chart.js": "js",
    "src/market.js": "js",
    "src/accounts.js": "js",
    "src/strategies.js": "js",
    "src/risk.js": "js",
    "src/backtest.js": "js",
    "src/health.js": "js",
    "vendor/uplot/uPlot.esm.js": "js",
    "vendor/uplot/uPlot.min.css": "css",
    "vendor/uplot/LICENSE": "txt",
}

/// The embedded file at `path` (`/`, `/index.html`, `/assets/...`): its MIME
/// type and bytes. Anything else is `None` (404).
pub fn asset(path: &str) -> Option<(&'static str, &'static [u8])> {
    let name = match path {
        "/" | "/index.html" => "index.html",
        _ => path.strip_prefix("/assets/")?,
    };
    FILES
        .iter()
        .find(|(file, _, _)| *file == name)
        .map(|(_, mime, bytes)| (*mime, *bytes))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::path::{Path, PathBuf};

    fn web() -> PathBuf {
        Path::new(env!("CARGO_MANIFEST_DIR")).join("web")
    }

    #[test]
    fn index_and_assets_with_their_types() {
        let (mime, index) = asset("/").unwrap();
        assert_eq!(mime, "text/html; charset=utf-8");
        assert_eq!(asset("/index.html").unwrap().1, index);
        let (mime, js) = asset("/assets/src/main.js").unwrap();
        assert_eq!(mime, "text/javascript; charset=utf-8");
        assert_eq!(js, std::fs::read(web().join("src/main.js")).unwrap());
        assert_eq!(
            asset("/assets/vendor/uplot/uPlot.min.css").unwrap().0,
            "text/css; charset=utf-8"
        );
    }

    #[test]
    fn nothing_outside_the_table() {
        for path in [
            "/assets/../Cargo.toml",
            "/assets/../../Cargo.toml",
            "/../../etc/passwd",
            "/assets/src/../../Cargo.toml",
            "/assets//etc/passwd",
            "/assets/%2e%2e/Cargo.toml",
            "/assets/",
            "/assets/index.html/",
            "/assets/e2e/dashboard.mjs",
            "/assets/package.json",
            "/src/main.js",
            "/assets/SRC/MAIN.JS",
            "",
        ] {
            assert!(asset(path).is_none(), "{path} must not be served");
        }
    }

    /// The vendored uPlot is the version web/package.json records, with its licence.
    #[test]
    fn vendored_uplot_is_the_recorded_version() {
        let package: serde_json::Value =
            serde_json::from_slice(&std::fs::read(web().join("package.json")).unwrap()).unwrap();
        let version = package["dependencies"]["uplot"].as_str().unwrap();
        let (_, js) = asset("/assets/vendor/uplot/uPlot.esm.js").unwrap();
        let head = String::from_utf8_lossy(&js[..400]);
        assert!(head.contains(&format!("(v{version})")), "{head}");
        let (_, license) = asset("/assets/vendor/uplot/LICENSE").unwrap();
        assert!(String::from_utf8_lossy(license).starts_with("The MIT License"));
    }

    /// Every file the page can load (scripts, styles) is embedded, and every
    /// module import and every `/assets/` reference of the page resolves to an
    /// embedded file: a new or renamed file cannot be forgotten here.
    #[test]
    fn every_file_of_the_page_is_embedded_and_every_reference_resolves() {
        let root = web();
        let mut on_disk = Vec::new();
        for dir in ["", "src", "vendor/uplot"] {
            for entry in std::fs::read_dir(root.join(dir)).unwrap() {
                let path = entry.unwrap().path();
                let ext = path.extension().and_then(|e| e.to_str()).unwrap_or("");
                if path.is_file() && matches!(ext, "js" | "css" | "html") {
                    let rel = path.strip_prefix(&root).unwrap().to_str().unwrap();
                    on_disk.push(rel.replace('\\', "/"));
                }
            }
        }
        for rel in &on_disk {
            assert!(
                FILES.iter().any(|(f, _, _)| f == rel),
                "web/{rel} is not embedded: add it to FILES in assets.rs"
            );
        }
        let index = String::from_utf8(asset("/").unwrap().1.to_vec()).unwrap();
        let refs: Vec<&str> = index
            .split("\"/assets/")
            .skip(1)
            .map(|r| r.split('"').next().unwrap())
            .collect();
        assert!(refs.len() >= 3, "{refs:?}");
        for r in refs {
            assert!(
                asset(&format!("/assets/{r}")).is_some(),
                "index.html loads {r}"
            );
        }
        for (file, _, bytes) in FILES.iter().filter(|(f, _, _)| f.starts_with("src/")) {
            let text = std::str::from_utf8(bytes).unwrap();
            for import in text.split(" from '").skip(1) {
                let target = import.split('\'').next().unwrap();
                let base = Path::new(file).parent().unwrap();
                let mut parts: Vec<&str> = base.to_str().unwrap().split('/').collect();
                for seg in target.split('/') {
                    match seg {
                        "." => {}
                        ".." => {
                            parts.pop();
                        }
                        s => parts.push(s),
                    }
                }
                let resolved = parts.join("/");
                assert!(
                    FILES.iter().any(|(f, _, _)| *f == resolved),
                    "{file} imports {target} ({resolved}), which is not embedded"
                );
            }
        }
    }
}
