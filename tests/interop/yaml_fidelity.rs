//! YAML comments survive every round trip, in both directions with the real sops (issue 9,
//! cases 1–3): no comment is dropped, none is printed as ciphertext, and values and comment
//! texts come back in the same order whichever tool encrypted and whichever decrypts.

use super::*;

/// The comment texts of a YAML text in order, layout ignored (`a: x # c` and `# c` above
/// `a: x` both give "c"). Enough for the inputs below: no `#` inside quoted scalars.
fn comment_texts(yaml: &str) -> Vec<String> {
    yaml.lines()
        .filter_map(|line| {
            let at = line
                .char_indices()
                .find(|&(i, c)| c == '#' && (i == 0 || line[..i].ends_with([' ', '\t'])))?
                .0;
            Some(line[at + 1..].trim().to_string())
        })
        .collect()
}

struct Trip {
    /// (direction, decrypted text)
    outputs: Vec<(&'static str, String)>,
    /// (direction, decrypted as JSON), for single-document files.
    json: Option<Vec<(&'static str, Value)>>,
}

fn run_ok(mut c: Command, what: &str) -> String {
    let out = c.output().unwrap();
    assert!(
        out.status.success(),
        "{what}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Encrypts `plain` with each tool and decrypts each result with each tool.
fn trip(sb: &Sandbox, key: &Key, plain: &str) -> Option<Trip> {
    sops(sb, key)?;
    sb.write("plain.yaml", plain);
    let mut enc = sops(sb, key).unwrap();
    enc.args(["encrypt", "--age", &key.public, "plain.yaml"]);
    sb.write("theirs.yaml", &run_ok(enc, "sops encrypt"));
    let mut enc = sb.std_cmd();
    enc.args(["encrypt", "--age", &key.public, "plain.yaml"]);
    sb.write("ours.yaml", &run_ok(enc, "our encrypt"));
    let mut outputs = Vec::new();
    for (file, writer) in [("ours.yaml", "ours"), ("theirs.yaml", "sops")] {
        let mut dec = sops(sb, key).unwrap();
        dec.args(["decrypt", file]);
        let by_sops = run_ok(dec, &format!("sops decrypt of {writer}"));
        let by_us = String::from_utf8(ours_decrypt(sb, key, file, &[])).unwrap();
        let (a, b) = if writer == "ours" {
            ("ours → sops", "ours → ours")
        } else {
            ("sops → sops", "sops → ours")
        };
        outputs.push((a, by_sops));
        outputs.push((b, by_us));
    }
    let single = !plain.contains("---");
    let json = single.then(|| {
        let mut json = Vec::new();
        for (file, tool) in [
            ("theirs.yaml", "sops → sops"),
            ("theirs.yaml", "sops → ours"),
            ("ours.yaml", "ours → sops"),
            ("ours.yaml", "ours → ours"),
        ] {
            let text = if tool.ends_with("sops") {
                let mut dec = sops(sb, key).unwrap();
                dec.args(["decrypt", "--output-type", "json", file]);
                run_ok(dec, tool)
            } else {
                String::from_utf8(ours_decrypt(sb, key, file, &["--output-type", "json"])).unwrap()
            };
            json.push((tool, serde_json::from_str(&text).unwrap()));
        }
        json
    });
    Some(Trip { outputs, json })
}

/// No ciphertext, the input's comment texts and values, in order, in every direction.
fn assert_faithful(plain: &str, trip: &Trip) {
    for (direction, out) in &trip.outputs {
        assert!(!out.contains("ENC["), "{direction}: ciphertext in\n{out}");
        assert_eq!(
            comment_texts(out),
            comment_texts(plain),
            "{direction}: comments of\n{plain}\nbecame\n{out}"
        );
    }
    // Values: both tools read both files to the same JSON.
    let Some(json) = &trip.json else { return };
    for (direction, value) in json {
        assert_eq!(
            value, &json[0].1,
            "{direction}: values differ from sops → sops"
        );
    }
}

/// Our `set PATH VALUE --json` on `file`, which must succeed.
fn our_set(sb: &Sandbox, key: &Key, file: &str, path: &str, value: &str) {
    let out = sb
        .cmd()
        .args(["set", "-I"])
        .arg(&key.file)
        .args([file, path, value, "--json"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The keys of the lines that differ, `lastmodified` left out (it may not change within a
/// second).
fn changed_keys(before: &str, after: &str) -> Vec<String> {
    before
        .lines()
        .zip(after.lines())
        .filter(|(a, b)| a != b && !a.contains("lastmodified"))
        .map(|(a, _)| a.trim_start().split(':').next().unwrap().to_string())
        .collect()
}

fn sops_decrypt(sb: &Sandbox, key: &Key, file: &str) -> String {
    let mut dec = sops(sb, key).unwrap();
    dec.args(["decrypt", file]);
    run_ok(dec, "sops decrypt")
}

#[test]
fn case1_comments_after_quoted_scalars_and_flow_collections_are_kept() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    let plain = "a: x # c1\nb: \"y\"   # c2\nc: 'z' # c3\nd: [1, 2] # c4\ne: {k: v} # c5\nf: [1, # c6\n    2]\ng:\n    - [3, 4] # c7\n    - {m: n} # c8\n";
    let Some(trip) = trip(&sb, &key, plain) else {
        return;
    };
    assert_faithful(plain, &trip);
    // The flow sequence's comment stays above its items (it moved below the list before).
    let ours = &trip.outputs[1].1;
    assert!(ours.contains("d:\n    # c4\n    - 1\n    - 2\n"), "{ours}");
}

#[test]
fn case2_list_comments_after_a_nested_map_stay_in_the_list() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    for plain in [
        "nested:\n    deeper:\n        c: 3\nlist:\n    # before first\n    - a\n    - b\n",
        "nested:\n    d: 4\nlist:\n    - a\n    - b\n    # last comment\n",
        "nested:\n    deeper:\n        c: 3\n        # foot of deeper\n    # foot of nested\n# before list\nlist:\n    - a\n    # foot list\n# end\n",
    ] {
        let Some(trip) = trip(&sb, &key, plain) else {
            return;
        };
        assert_faithful(plain, &trip);
        // Where sops keeps the layout, so do we.
        assert_eq!(trip.outputs[3].1, trip.outputs[2].1, "sops file: {plain}");
    }
}

#[test]
fn case2_set_on_a_sops_file_keeps_its_list_comment_encrypted_once() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    let plain = "nested:\n    d: 4\nlist:\n    - a\n    - b\n    # last comment\n";
    if trip(&sb, &key, plain).is_none() {
        return;
    }
    let before = sb.read("theirs.yaml");
    our_set(&sb, &key, "theirs.yaml", "nested.d", "5");
    let after = sb.read("theirs.yaml");
    // Only the value and mac change (and lastmodified, unless in the same second); the
    // comment item keeps its ciphertext.
    let changed = changed_keys(&before, &after);
    assert_eq!(changed, ["d", "mac"], "{after}");
    let by_sops = sops_decrypt(&sb, &key, "theirs.yaml");
    assert_eq!(
        by_sops,
        "nested:\n    d: 5\nlist:\n    - a\n    - b\n    # last comment\n"
    );
}

#[test]
fn case3_each_document_keeps_its_own_head_comment() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    let plain = "# doc1 top\na: 1\n# doc1 end\n---\n# doc2 top\nb: 2\n---\n# doc3 top\nc:\n    d: 3\n    # doc3 foot\n";
    let Some(trip) = trip(&sb, &key, plain) else {
        return;
    };
    for (direction, out) in &trip.outputs {
        let docs: Vec<_> = out.split("---\n").collect();
        assert_eq!(docs.len(), 3, "{direction}: {out}");
        assert!(
            docs[1].starts_with("# doc2 top\nb: 2\n"),
            "{direction}: {out}"
        );
        assert!(
            docs[2].starts_with("# doc3 top\nc:\n"),
            "{direction}: {out}"
        );
    }
    assert_faithful(plain, &trip);
    // `set` keeps them in place (it made the move permanent before).
    our_set(&sb, &key, "theirs.yaml", "a", "9");
    let by_sops = sops_decrypt(&sb, &key, "theirs.yaml");
    assert_eq!(by_sops, plain.replace("a: 1", "a: 9"));
}

#[test]
fn nested_lists_are_written_as_sops_writes_them() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    let plain =
        "a:\n    - - - 1\n        - 2\n      - x: 1\n        k: 2\n      - - 3\n    - - a\nb: 1\n";
    let Some(trip) = trip(&sb, &key, plain) else {
        return;
    };
    for (direction, out) in &trip.outputs {
        assert_eq!(out, plain, "{direction}");
    }
    // And `set` on sops's file changes only the value's line (plus lastmodified and mac).
    let before = sb.read("theirs.yaml");
    our_set(&sb, &key, "theirs.yaml", "b", "2");
    let after = sb.read("theirs.yaml");
    let changed = changed_keys(&before, &after);
    assert_eq!(changed, ["b", "mac"], "{after}");
}

#[test]
fn case9_keys_that_are_not_strings_are_refused_like_sops_does() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    if sops(&sb, &key).is_none() {
        return;
    }
    for plain in [
        "a: 1\n123: x\nb: 2\n",
        "true: x\n",
        "~: x\n",
        "1.5: x\n",
        "0x10: x\n",
        "? [k1, k2]\n: v\nafter: 1\n",
        "a:\n    [a, b]: v\n    after: 1\n",
        "{a: 1}: v\n",
    ] {
        sb.write("plain.yaml", plain);
        let mut theirs = sops(&sb, &key).unwrap();
        theirs.args(["encrypt", "--age", &key.public, "plain.yaml"]);
        assert!(
            !theirs.output().unwrap().status.success(),
            "sops took {plain:?}"
        );
        let ours = sb
            .cmd()
            .args(["encrypt", "-i", "--age", &key.public, "plain.yaml"])
            .output()
            .unwrap();
        assert_eq!(ours.status.code(), Some(2), "{plain:?}");
        let err = String::from_utf8_lossy(&ours.stderr);
        assert!(
            err.contains("plain.yaml") && err.contains("line ") && err.contains("string keys"),
            "{err}"
        );
        assert_eq!(sb.read("plain.yaml"), plain, "the file is left as it was");
    }
    // Quoted or tagged as strings they are string keys, for both tools.
    let plain = "\"123\": x\n!!str 5: y\n\"on\": z\n";
    let Some(trip) = trip(&sb, &key, plain) else {
        return;
    };
    let json = trip.json.unwrap();
    for (direction, value) in &json {
        assert_eq!(
            value,
            &serde_json::json!({"123": "x", "5": "y", "on": "z"}),
            "{direction}"
        );
    }
}

#[test]
fn empty_yaml_documents_mean_what_they_mean_to_sops() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    // `{}` and `~` are documents sops encrypts; a document of comments only keeps them.
    for plain in [
        "{}\n",
        "# c\n{}\n",
        "a: 1\n---\n# only comment doc\n{}\n---\nb: 2\n",
    ] {
        let Some(trip) = trip(&sb, &key, plain) else {
            return;
        };
        for (direction, out) in &trip.outputs {
            assert_eq!(out, plain, "{direction}");
        }
    }
    // `---` alone is an empty document to sops (it prints `{}`), with its comments.
    for (plain, want) in [("---\n", "{}\n"), ("---\n# c\n", "# c\n{}\n")] {
        let Some(trip) = trip(&sb, &key, plain) else {
            return;
        };
        for (direction, out) in &trip.outputs {
            assert_eq!(out, want, "{direction}");
        }
    }
    // Text with no document at all is refused by both.
    for plain in ["", "# only\n", "\n\n"] {
        sb.write("plain.yaml", plain);
        let mut theirs = sops(&sb, &key).unwrap();
        theirs.args(["encrypt", "--age", &key.public, "plain.yaml"]);
        assert!(
            !theirs.output().unwrap().status.success(),
            "sops took {plain:?}"
        );
        let ours = sb
            .cmd()
            .args(["encrypt", "--age", &key.public, "plain.yaml"])
            .output()
            .unwrap();
        assert!(!ours.status.success(), "we took {plain:?}");
    }
}

/// Found by the generated suite: comment positions and keys where we and sops disagreed.
#[test]
fn comments_and_keys_the_generated_suite_found() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    for plain in [
        // The end-of-line comment of a list item's first entry, after a list comment: sops
        // lost the list comment when reading our file.
        "k_0:\n    # c0\n    - k_0: x  # c1\n",
        "k_2:\n    - x\n    - k_0: x  # c0\n      k_1: x\n    - x\n",
        // A comment on the line of a key whose value is a block.
        "k_0: # c0\n    - k_0: x\nk_1: x\n",
        // The comment of a block scalar's header line.
        "k_0: |- # c0\n    line1\n    line2\nk_1:\n    - | # c1\n      a\n    - x\n",
        // Found by fuzzing: the same when the block's text starts with empty lines (the
        // comment went after the entry).
        "k_0: |4 # c0\n\n    a\nk_1:\n    - |2 # c1\n\n\n      b\n    - x\n",
        // Found by fuzzing: the comment on an empty nested list item.
        "k_0:\n    - - null\n      # c0\n      - x\n",
    ] {
        let Some(trip) = trip(&sb, &key, plain) else {
            return;
        };
        assert_faithful(plain, &trip);
    }
    // Keys go-yaml cannot write as simple keys: `? key` then `: value`, as sops writes them,
    // so `set` on sops's file changes only the value it sets.
    let long = "l".repeat(130);
    let plain = format!("k_0:\n    k_0: x\n    ? |-\n        new\n        line\n    : x\n    ? {long}\n    : \"y\"\n? |\n    a\n    b\n:   c: 1\n");
    let Some(trip) = trip(&sb, &key, &plain) else {
        return;
    };
    for (direction, out) in &trip.outputs {
        assert_eq!(out, &plain, "{direction}");
    }
}

/// sops gives the first comment after a nested block to the innermost block when it reads,
/// though it sealed it for the outer one, and then prints it as ciphertext; we open it with
/// the outer path that authenticates it.
#[test]
fn a_comment_sops_cannot_decrypt_in_its_own_file_decrypts_here() {
    let sb = Sandbox::new();
    let key = sb.key("alice");
    let plain = "k_0:\n    - k_0:\n          - x\n          # c0\n      # c1\nk_1: x\n";
    let Some(trip) = trip(&sb, &key, plain) else {
        return;
    };
    let sops_reads_own = &trip.outputs[2].1;
    assert!(
        sops_reads_own.contains("#ENC["),
        "sops fixed this: {sops_reads_own}"
    );
    let we_read_sops = &trip.outputs[3].1;
    assert!(!we_read_sops.contains("ENC["), "{we_read_sops}");
    assert_eq!(comment_texts(we_read_sops), ["c0", "c1"]);
}
