//! YAML: ordered maps, lists, typed scalars, comments and multi-document files.
//!
//! Parsing uses `saphyr-parser` (the maintained successor of yaml-rust, YAML 1.2 test-suite
//! compliant, with exact spans). Event parsers do not report comments, so they are recovered
//! from the source between scalar spans and attached the way sops does: a comment line is an
//! item before the entry that follows it; an end-of-line comment is an inline item before the
//! entry it ends. Scalars resolve like go-yaml v3 (what sops uses): `0x1F`, `1_000`, `0755`
//! are ints, `2024-01-01` is a timestamp. Aliases are expanded, as in sops.
//!
//! One file per seam: `source` (saphyr events and scalar positions), `comments` (comment
//! recovery from the text), `build` (events → tree, comment attachment), `scalar` (go-yaml
//! scalar rules), `emit` (go-yaml's layout).

mod build;
mod comments;
mod emit;
mod scalar;
mod source;

pub use build::parse;
pub use emit::{emit, emit_list_document, emit_with_entry};
pub use scalar::{resolve, scalar_text};

#[cfg(test)]
mod tests {
    use super::super::Layout;
    use super::*;
    use crate::model::Sealed;
    use crate::model::{Branch, Item, Node, Scalar};
    use saphyr_parser::ScalarStyle;

    fn round(text: &str) -> String {
        let (b, layout) = parse::<Sealed>(text).unwrap();
        emit(&b, layout).unwrap().to_string()
    }

    #[test]
    fn keeps_order_types_and_comments() {
        let src = "# head\nb: 1\na: text # trailing\nc:\n  # inner\n  d: true\n  e: [1, 2.5, null]\nf: \"007\"\n";
        let (b, _) = parse::<Sealed>(src).unwrap();
        let keys: Vec<_> = b[0].entries().map(|(k, _)| k).collect();
        assert_eq!(keys, ["b", "a", "c", "f"]);
        assert_eq!(b[0].get("b"), Some(&Node::Leaf(Sealed(Scalar::Int(1)))));
        assert_eq!(
            b[0].get("f"),
            Some(&Node::Leaf(Sealed(Scalar::Str("007".into()))))
        );
        let out = round(src);
        assert!(out.contains("# head\n"), "{out}");
        assert!(out.contains("a: text # trailing\n"), "{out}");
        assert!(out.contains("  # inner\n  d: true\n"), "{out}");
        assert_eq!(round(&out), out, "emit is a fixed point");
    }

    #[test]
    fn go_yaml_scalar_resolution() {
        for (t, want) in [
            ("0x1F", Scalar::Int(31)),
            ("1_000", Scalar::Int(1000)),
            ("0755", Scalar::Int(493)),
            ("2.5", Scalar::Float(2.5)),
            ("1e3", Scalar::Float(1000.0)),
            ("yes", Scalar::Str("yes".into())),
            ("2024-01-01", Scalar::Time("2024-01-01T00:00:00Z".into())),
            ("~", Scalar::Null),
        ] {
            assert_eq!(resolve(t, ScalarStyle::Plain, None), want, "{t}");
        }
    }

    #[test]
    fn block_scalar_header_comments_stay_on_the_header() {
        // Found by fuzzing: a block whose text starts with empty lines, or whose lines end
        // in a lone `\r` (a line break to YAML), lost its header comment to the next line
        // (sops keeps it with the entry, on a line above).
        for (text, want) in [
            ("k: |4 # c\n\n    a\nj: 1\n", "k: |4 # c\n\n    a\nj: 1\n"),
            (
                "l:\n    - |2 # c\n\n\n      b\n",
                "l:\n    - |2 # c\n\n\n      b\n",
            ),
            ("k: | # c\n\n\nj: 1\n", "k: \"\" # c\nj: 1\n"),
            // (A block's text does not set the file's indentation: 4, as go-yaml writes.)
            ("k: | # c\r\r  a\r", "k: |4 # c\n\n    a\n"),
            // A lone `\r` ends a line for the comment columns too (as for sops).
            ("a:\r  b: 1\r# c\rd: 2\r", "a:\n  b: 1\n# c\nd: 2\n"),
        ] {
            assert_eq!(round(text), want, "{text:?}");
        }
    }

    #[test]
    fn a_comment_on_an_empty_nested_list_item_follows_the_item() {
        // Found by fuzzing: it opened the inner list, where `- - null` cannot hold it, and
        // was written above the outer item; sops keeps it after the item, as here.
        for (text, want) in [
            (
                "p:\n- - # c\n  - x\n",
                "p:\n    - - null\n      # c\n      - x\n",
            ),
            ("p:\n- - - # c\n", "p:\n    - - - null\n        # c\n"),
        ] {
            assert_eq!(round(text), want, "{text:?}");
        }
    }

    #[test]
    fn strings_that_need_quotes_round_trip() {
        for s in [
            "true",
            "123",
            "",
            " lead",
            "a: b",
            "x #y",
            "yes",
            "2024-01-01T00:00:00Z",
            "line1\nline2\n",
            "tab\there",
            "-",
            "- x",
            "ends:",
            "q\"uote",
            "multi\n\n",
        ] {
            let mut b = Branch::<Sealed>::new();
            b.insert("k".into(), Node::Leaf(Sealed(Scalar::Str(s.into()))));
            let text = emit(&[b.clone()], Layout { indent: 4 })
                .unwrap()
                .to_string();
            let (back, _) = parse::<Sealed>(&text).unwrap();
            assert_eq!(back[0], b, "{s:?} → {text}");
        }
    }

    #[test]
    fn comments_far_apart_in_a_long_file() {
        // More events between comments than the parser reads ahead: the scout parser finds
        // the scalar positions, and `#` inside quoted scalars stays text.
        let mut src = String::from("# head\n");
        for i in 0..3000 {
            src.push_str(&format!("s{i}:\n    a: v{i}\n    n:\n        deep: {i}\n"));
            if i == 1500 {
                src.push_str("    q: 'x #not a comment'\n");
            }
        }
        src.push_str("# tail\nlast: 1 # inline\n");
        let (b, _) = parse::<Sealed>(&src).unwrap();
        fn comments(b: &Branch<Sealed>, out: &mut Vec<String>) {
            for item in &b.items {
                match item {
                    Item::Comment { text, .. } => out.push(text.0.to_text().to_string()),
                    Item::Entry {
                        value: Node::Map(m),
                        ..
                    } => comments(m, out),
                    _ => {}
                }
            }
        }
        let mut found = Vec::new();
        comments(&b[0], &mut found);
        assert_eq!(found, [" head", " tail", " inline"]);
        assert!(
            matches!(&b[0].items[0], Item::Comment { text, inline: false } if text.0.to_text().as_str() == " head")
        );
        let Some(Node::Map(s1500)) = b[0].get("s1500") else {
            panic!("s1500 is a map")
        };
        assert_eq!(
            s1500.get("q"),
            Some(&Node::Leaf(Sealed(Scalar::Str("x #not a comment".into()))))
        );
    }

    #[test]
    fn char_positions_with_multibyte_text() {
        let src = "é: ü # ñ\n# 日本\nk: 'ä #b' # ok\nz: 日本語 #tail\n";
        // The same output as before comments were found lazily (character positions are
        // mapped to bytes without a table per character).
        assert_eq!(
            round(src),
            "é: ü # ñ\n# 日本\nk: 'ä #b' # ok\nz: 日本語 #tail\n"
        );
    }

    #[test]
    fn duplicate_keys_are_refused_with_their_line() {
        let e = parse::<Sealed>("a: 1\nb:\n  c: 1\n  c: 2\n").unwrap_err();
        assert_eq!(
            e.to_string(),
            "line 4, column 3: mapping key \"c\" already defined"
        );
        let e = parse::<Sealed>("a: 1\na: 2\n").unwrap_err();
        assert!(e.to_string().starts_with("line 2, column 1:"), "{e}");
        // The same key in different maps and documents is fine.
        assert!(parse::<Sealed>("a: {k: 1}\nb: {k: 1}\n---\na: 2\n").is_ok());
    }

    #[test]
    fn numbers_print_like_go_yaml_and_big_ints_are_not_rounded() {
        let t = parse::<Sealed>("a: 7.0\nb: 1e3\nc: 1e6\nd: 0.0001\ne: 1e20\nf: 2.5\n")
            .unwrap()
            .0;
        let out = emit(&t, Layout { indent: 4 }).unwrap();
        assert_eq!(
            out,
            "a: 7\nb: 1000\nc: 1e+06\nd: 0.0001\ne: 1e+20\nf: 2.5\n"
        );
        let e = parse::<Sealed>("x: 1\nbig: 12345678901234567890\n").unwrap_err();
        assert!(
            e.to_string()
                .starts_with("line 2, column 6: \"big\": integer too large"),
            "{e}"
        );
        assert!(!e.to_string().contains("1234567890"), "{e}");
        assert!(parse::<Sealed>("big: \"12345678901234567890\"\n").is_ok());
    }

    #[test]
    fn multi_document_and_anchors() {
        let (b, _) = parse::<Sealed>("a: &x {k: 1}\nb: *x\n---\nc: 2\n").unwrap();
        assert_eq!(b.len(), 2);
        assert_eq!(b[0].get("a"), b[0].get("b"));
        assert!(parse::<Sealed>("- 1\n- 2\n").is_err());
        assert!(parse::<Sealed>("a: [1\n").is_err());
    }

    #[test]
    fn hostile_nesting_and_aliasing_fail_fast_with_their_line() {
        let deep_block = format!("a:\n{}x\n", "- ".repeat(30_000));
        let e = parse::<Sealed>(&deep_block).unwrap_err().to_string();
        assert!(
            e.starts_with("line 2, column ") && e.contains("deeper than 128"),
            "{e}"
        );
        let deep_flow = format!("a: {}{}\n", "[".repeat(30_000), "]".repeat(30_000));
        assert!(parse::<Sealed>(&deep_flow).is_err());
        let mut laughs = String::from("a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol]\n");
        for (prev, name) in ["a", "b", "c", "d", "e", "f", "g", "h"]
            .iter()
            .zip(["b", "c", "d", "e", "f", "g", "h", "i"])
        {
            let refs = vec![format!("*{prev}"); 9].join(", ");
            laughs.push_str(&format!("{name}: &{name} [{refs}]\n"));
        }
        let e = parse::<Sealed>(&laughs).unwrap_err().to_string();
        assert!(e.contains("excessive aliasing"), "{e}");
        // An alias that would nest past the limit is refused before it is copied.
        let mut chain = format!("a: &a {}x{}\n", "[".repeat(100), "]".repeat(100));
        chain.push_str(&format!("b: {}*a{}\n", "[".repeat(40), "]".repeat(40)));
        assert!(parse::<Sealed>(&chain)
            .unwrap_err()
            .to_string()
            .contains("deeper than 128"));
        // Ordinary anchors and merges stay fine.
        assert!(parse::<Sealed>("d: &d {x: 1, y: 2}\ne: *d\nf: [*d, *d]\n").is_ok());
    }
}
