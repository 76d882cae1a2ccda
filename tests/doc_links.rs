//! Every relative link in the README, the changelog and the `docs/` pages
//! resolves: the file exists and, for `page.md#anchor`, the page has a
//! heading with that anchor (as GitHub spells it). Links with a scheme
//! (`https:`, `mailto:`) are not fetched. Paths of this repository quoted
//! as code (`src/...`, `scripts/...`) exist too, so that moving a file
//! without updating the pages fails here.

use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

const ROOT: &str = env!("CARGO_MANIFEST_DIR");

/// The Markdown files whose links are checked: the README, the changelog
/// and every `.md` under `docs/`.
fn pages() -> Vec<PathBuf> {
    let root = Path::new(ROOT);
    let mut pages = vec![root.join("README.md"), root.join("CHANGELOG.md")];
    let mut dirs = vec![root.join("docs")];
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(&dir).expect("docs/ is readable") {
            let path = entry.expect("a docs/ entry").path();
            if path.is_dir() {
                dirs.push(path);
            } else if path.extension().is_some_and(|e| e == "md") {
                pages.push(path);
            }
        }
    }
    pages.sort();
    pages
}

/// The lines outside fenced code blocks (the fences included in neither).
fn unfenced(markdown: &str) -> impl Iterator<Item = &str> {
    let mut fenced = false;
    markdown.lines().filter(move |line| {
        if line.trim_start().starts_with("```") {
            fenced = !fenced;
            return false;
        }
        !fenced
    })
}

/// The text outside fenced code blocks and inline code spans, where a
/// `[x](y)` is a link.
fn prose(markdown: &str) -> String {
    let mut out = String::new();
    for line in unfenced(markdown) {
        // Every other piece between backticks is code.
        out.push_str(&line.split('`').step_by(2).collect::<Vec<_>>().join(" "));
        out.push('\n');
    }
    out
}

/// The targets of the inline links and images in `markdown`: `[text](target)`.
fn link_targets(markdown: &str) -> Vec<String> {
    let text = prose(markdown);
    let mut targets = Vec::new();
    let mut rest = text.as_str();
    while let Some(at) = rest.find("](") {
        rest = &rest[at + 2..];
        if let Some(end) = rest.find(')') {
            // A title after the target (`(x "title")`) is not part of it.
            let target = rest[..end].split_whitespace().next().unwrap_or("");
            targets.push(target.to_owned());
            rest = &rest[end..];
        }
    }
    targets
}

/// The folders whose paths, quoted as code in a page, must exist.
const REPO_FOLDERS: &[&str] = &[
    "src/",
    "tests/",
    "scripts/",
    "examples/",
    "benches/",
    "docs/",
    "tools/",
    "fonts/",
    "voice/",
    "bench-peers/",
];

/// The repository paths quoted as inline code outside code blocks: the
/// first word of a code span (a command's program) that starts with one
/// of [`REPO_FOLDERS`].
fn quoted_paths(markdown: &str) -> Vec<String> {
    unfenced(markdown)
        .flat_map(|line| line.split('`').skip(1).step_by(2))
        .filter_map(|code| code.split_whitespace().next())
        .filter(|word| REPO_FOLDERS.iter().any(|f| word.starts_with(f)))
        .map(|word| word.trim_end_matches([':', ',', '.']).to_owned())
        .collect()
}

/// GitHub's anchor for a heading: lower case, punctuation dropped except
/// `-` and `_`, spaces as `-`.
fn slug(heading: &str) -> String {
    heading
        .trim()
        .to_lowercase()
        .chars()
        .filter(|c| c.is_alphanumeric() || matches!(c, ' ' | '-' | '_'))
        .map(|c| if c == ' ' { '-' } else { c })
        .collect()
}

/// The anchors of a page's headings (outside code blocks).
fn anchors(markdown: &str) -> BTreeSet<String> {
    unfenced(markdown)
        .filter(|line| line.starts_with('#'))
        .map(|line| slug(&line.trim_start_matches('#').replace('`', "")))
        .collect()
}

/// What is wrong with `target` as a link from the page at `from`, if
/// anything.
fn broken(from: &Path, target: &str) -> Option<String> {
    if target.is_empty() {
        return Some("empty link".into());
    }
    if target.contains("://") || target.starts_with("mailto:") {
        return None;
    }
    let (file, anchor) = match target.split_once('#') {
        Some((file, anchor)) => (file, Some(anchor)),
        None => (target, None),
    };
    let path = if file.is_empty() {
        from.to_path_buf()
    } else {
        from.parent().expect("a page has a folder").join(file)
    };
    if !path.exists() {
        return Some(format!("no file {}", path.display()));
    }
    let anchor = anchor?;
    let text = std::fs::read_to_string(&path).ok()?;
    if anchors(&text).contains(anchor) {
        None
    } else {
        Some(format!("no heading #{anchor} in {}", path.display()))
    }
}

#[test]
fn every_relative_link_in_the_docs_resolves() {
    let mut checked = 0;
    let mut errors = Vec::new();
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("a readable page");
        for target in link_targets(&text) {
            checked += 1;
            if let Some(why) = broken(&page, &target) {
                errors.push(format!("{}: ({target}): {why}", page.display()));
            }
        }
    }
    assert!(errors.is_empty(), "broken links:\n{}", errors.join("\n"));
    // The README alone links to every docs page: a checker that finds no
    // link has stopped reading them.
    assert!(checked > 30, "only {checked} links found");
}

#[test]
fn every_repository_path_the_docs_quote_exists() {
    let root = Path::new(ROOT);
    let (mut missing, mut checked) = (Vec::new(), 0);
    for page in pages() {
        let text = std::fs::read_to_string(&page).expect("a readable page");
        for path in quoted_paths(&text) {
            checked += 1;
            if !root.join(&path).exists() {
                missing.push(format!("{}: `{path}`", page.display()));
            }
        }
    }
    assert!(missing.is_empty(), "no such paths:\n{}", missing.join("\n"));
    assert!(checked > 20, "only {checked} paths found");
    let quoted =
        quoted_paths("run `scripts/test --x` and `src/lib.rs`, `cargo`\n```\n`src/x`\n```");
    assert_eq!(quoted, ["scripts/test", "src/lib.rs"]);
}

#[test]
fn the_checker_sees_a_missing_file_and_a_missing_heading() {
    let readme = Path::new(ROOT).join("README.md");
    assert!(broken(&readme, "docs/no-such-page.md").is_some());
    assert!(broken(&readme, "docs/errors.md#no-such-heading").is_some());
    assert!(broken(&readme, "docs/errors.md#http-statuses").is_none());
    assert!(broken(&readme, "#two-commands").is_none());
    assert!(broken(&readme, "https://docs.rs/qcaptcha").is_none());
}

#[test]
fn links_in_code_are_not_links() {
    let text = "see [a](a.md) and `[b](b.md)`\n```\n[c](c.md)\n```\n![pic](p.png \"t\")";
    assert_eq!(link_targets(text), ["a.md", "p.png"]);
    assert_eq!(
        slug("Replay stores: one node or many"),
        "replay-stores-one-node-or-many"
    );
    assert_eq!(
        slug("Quick start: the `service`"),
        "quick-start-the-service"
    );
}
