//! `include/arrow_client.h` is what cbindgen makes of the crate now (`cargo xtask
//! ffi-header` rewrites it), and the docs' reference is what the header says.

use std::path::{Path, PathBuf};

fn crate_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The header cbindgen makes from the crate's source now.
pub(crate) fn generated_header() -> String {
    let dir = crate_dir();
    let config = cbindgen::Config::from_file(dir.join("cbindgen.toml")).expect("cbindgen.toml");
    let bindings = cbindgen::Builder::new()
        .with_config(config)
        .with_src(dir.join("src/lib.rs"))
        .generate()
        .expect("cbindgen reads the crate");
    let mut out = Vec::new();
    bindings.write(&mut out);
    String::from_utf8(out).expect("the header is UTF-8")
}

fn check(path: &Path, want: &str, what: &str) {
    if golden::update_requested() {
        std::fs::write(path, want).expect("write the generated file");
    }
    let have = std::fs::read_to_string(path).unwrap_or_default();
    assert!(
        have == want,
        "{} differs from {what} (run `cargo xtask ffi-header`)",
        path.display()
    );
}

#[test]
fn golden_header() {
    let header = generated_header();
    for name in [
        "arrow_client_start",
        "arrow_client_stop",
        "ArrowStorage",
        "ARROW_OK",
    ] {
        assert!(header.contains(name), "{name} is missing from the header");
    }
    check(
        &crate_dir().join("include/arrow_client.h"),
        &header,
        "what cbindgen makes of the crate",
    );
}

/// One documented declaration of the header.
#[derive(Debug)]
enum Item {
    /// `#define NAME VALUE`.
    Constant {
        name: String,
        value: String,
        doc: String,
    },
    /// A function, a typedef or a struct: its declaration as C.
    Declaration {
        name: String,
        kind: &'static str,
        code: String,
        doc: String,
        fields: Vec<(String, String)>,
    },
}

/// The text of a `/** ... */` comment whose first line is `lines[*i]`; moves past it.
fn doc_comment(lines: &[&str], i: &mut usize) -> String {
    let mut text = Vec::new();
    while *i < lines.len() {
        let line = lines[*i].trim();
        *i += 1;
        if line == "*/" {
            break;
        }
        if line == "/**" {
            continue;
        }
        text.push(
            line.strip_prefix('*')
                .unwrap_or(line)
                .trim_start()
                .to_string(),
        );
    }
    // Rust doc headings (`# Safety`) read as a label in the reference.
    text.iter()
        .map(|l| match l.strip_prefix("# ") {
            Some(heading) => format!("*{heading}:*"),
            None => l.clone(),
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// The name a declaration declares.
fn declared_name(code: &str) -> String {
    let first = code.lines().next().unwrap_or_default();
    let ident = |s: &str| -> String {
        s.chars()
            .rev()
            .skip_while(|c| !(c.is_alphanumeric() || *c == '_'))
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect::<Vec<_>>()
            .into_iter()
            .rev()
            .collect()
    };
    if let Some(rest) = first.strip_prefix("typedef struct ") {
        // `typedef struct X X;` or `typedef struct X {`
        return rest
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_string();
    }
    if first.contains("(*") {
        // `typedef void (*Name)(...)`
        let after = first.split("(*").nth(1).unwrap_or_default();
        return after.split(')').next().unwrap_or_default().to_string();
    }
    if let Some(open) = first.find('(') {
        return ident(&first[..open]);
    }
    ident(first.trim_end_matches(';'))
}

/// The header's documented declarations, in order.
fn items(header: &str) -> Vec<Item> {
    let lines: Vec<&str> = header.lines().collect();
    let mut items = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        if lines[i] != "/**" {
            i += 1;
            continue;
        }
        let doc = doc_comment(&lines, &mut i);
        let first = lines[i];
        if let Some(define) = first.strip_prefix("#define ") {
            let (name, value) = define.split_once(' ').unwrap_or((define, ""));
            items.push(Item::Constant {
                name: name.into(),
                value: value.into(),
                doc,
            });
            i += 1;
            continue;
        }
        let mut code = Vec::new();
        let mut fields = Vec::new();
        let is_struct = first.starts_with("typedef struct") && first.ends_with('{');
        loop {
            let line = lines[i];
            if line.trim() == "/**" {
                let field_doc = doc_comment(&lines, &mut i);
                let field = lines[i].trim();
                fields.push((declared_name(field), field_doc));
                code.push(lines[i].to_string());
                i += 1;
                continue;
            }
            code.push(line.to_string());
            i += 1;
            let done = if is_struct {
                line.starts_with('}')
            } else {
                line.ends_with(';')
            };
            if done {
                break;
            }
        }
        let code = code.join("\n");
        let kind = if code.starts_with("typedef") {
            "type"
        } else {
            "function"
        };
        items.push(Item::Declaration {
            name: declared_name(&code),
            kind,
            code,
            doc,
            fields,
        });
    }
    items
}

/// The reference section of docs/c-api.md, from the header.
fn reference(header: &str) -> String {
    let items = items(header);
    let mut out = String::from(
        "## Reference\n\n\
         Generated from `include/arrow_client.h` (and so from the crate's doc comments) by\n\
         `cargo xtask ffi-header`; a test fails when it is not current.\n",
    );
    out.push_str("\n### Types\n");
    for item in &items {
        if let Item::Declaration {
            name,
            kind: "type",
            code,
            doc,
            fields,
        } = item
        {
            out.push_str(&format!("\n#### `{name}`\n\n```c\n{code}\n```\n\n{doc}\n"));
            if !fields.is_empty() {
                out.push('\n');
                for (field, doc) in fields {
                    out.push_str(&format!("- `{field}`: {}\n", doc.replace('\n', " ")));
                }
            }
        }
    }
    out.push_str("\n### Constants\n\n| name | value | meaning |\n| --- | --- | --- |\n");
    for item in &items {
        if let Item::Constant { name, value, doc } = item {
            out.push_str(&format!(
                "| `{name}` | {value} | {} |\n",
                doc.replace('\n', " ").replace('|', "\\|")
            ));
        }
    }
    out.push_str("\n### Functions\n");
    for item in &items {
        if let Item::Declaration {
            name,
            kind: "function",
            code,
            doc,
            ..
        } = item
        {
            out.push_str(&format!("\n#### `{name}`\n\n```c\n{code}\n```\n\n{doc}\n"));
        }
    }
    out
}

/// Where the generated reference starts in docs/c-api.md; it runs to the end of the file.
const REFERENCE_MARK: &str = "<!-- The reference below is generated: cargo xtask ffi-header -->\n";

#[test]
fn golden_reference_in_the_docs() {
    let path = crate_dir().join("../../docs/c-api.md");
    let text = std::fs::read_to_string(&path).expect("docs/c-api.md");
    let (written, _) = text
        .split_once(REFERENCE_MARK)
        .expect("docs/c-api.md has the reference mark");
    let want = format!(
        "{written}{REFERENCE_MARK}\n{}",
        reference(&generated_header())
    );
    check(&path, &want, "the reference the header makes");
    // Every function of the header is in it.
    for item in items(&generated_header()) {
        if let Item::Declaration { name, .. } = item {
            assert!(want.contains(&format!("#### `{name}`")), "{name}");
        }
    }
}

#[test]
fn the_docs_name_the_libraries_a_static_link_needs() {
    let libs = arrow_client_ffi::STATIC_LINK_LIBS;
    for file in [
        "src/lib.rs",
        "README.md",
        "examples/tunnel.c",
        "arrow_client.pc.in",
        "../../docs/c-api.md",
    ] {
        let text = std::fs::read_to_string(crate_dir().join(file)).unwrap();
        // Comment leaders and line continuations do not count.
        let flat = text
            .split_whitespace()
            .filter(|w| !["//!", "*", "\\"].contains(w))
            .collect::<Vec<_>>()
            .join(" ");
        assert!(flat.contains(libs), "{file} does not name `{libs}`");
    }
}
