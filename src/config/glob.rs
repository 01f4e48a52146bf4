//! Environment file globs: compiled with `globset` against paths relative to the config's
//! directory (`/`-separated, `*` stays inside one path component, `**` crosses them; a glob
//! naming a directory also covers everything below it), plus a cheap overlap check that
//! catches two environments claiming the same files when the config is loaded.

use globset::{Glob, GlobBuilder, GlobSet, GlobSetBuilder};

/// A glob as the user wrote it, normalised (`./` dropped; see [`check_inside`] for what is
/// refused).
pub fn normalize(glob: &str) -> String {
    let mut g = glob.trim();
    while let Some(rest) = g.strip_prefix("./") {
        g = rest;
    }
    g.trim_start_matches('/').trim_end_matches('/').to_string()
}

/// Refuses a glob that names files outside the config's directory: an absolute path
/// (`/etc/**`) or one with a `..` component (`../**`). Globs match paths relative to the
/// root, so such a glob could never match what its writer meant, and must not seem to.
pub fn check_inside(glob: &str) -> Result<(), String> {
    let g = glob.trim();
    if g.starts_with('/') || g.starts_with('~') {
        return Err(
            "is absolute; globs are relative to the directory of the config (the repository \
             root): write it without the leading / (or ~)"
                .into(),
        );
    }
    if g.split('/').any(|c| c == "..") {
        return Err(
            "has a `..` component; globs name files under the directory of the config (the \
             repository root), never outside it"
                .into(),
        );
    }
    Ok(())
}

/// The leading path components of a (normalised) glob that hold no wildcard: all of
/// `.env`, `config/prod` of `config/prod/**`, nothing of `*.env`. Every path the glob
/// matches is this path or below it.
pub fn literal_base(glob: &str) -> String {
    glob.split('/')
        .take_while(|c| !c.contains(['*', '?', '[', '{', '\\']))
        .collect::<Vec<_>>()
        .join("/")
}

fn build(pattern: &str) -> Result<Glob, globset::Error> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
}

/// The `i`-th glob normalised and parsed; `Err((i, message))` when it is empty or bad.
fn parse(i: usize, glob: &str) -> Result<(String, Glob), (usize, String)> {
    let g = normalize(glob);
    if g.is_empty() {
        return Err((i, "empty glob".into()));
    }
    let parsed = build(&g).map_err(|e| (i, e.kind().to_string()))?;
    Ok((g, parsed))
}

/// Checks each glob of one environment; `Err((index, message))` names the bad glob. Cheaper
/// than [`compile`] (no matcher is built), for the config check at load.
pub fn check(globs: &[String]) -> Result<(), (usize, String)> {
    for (i, g) in globs.iter().enumerate() {
        parse(i, g)?;
    }
    Ok(())
}

/// Globs compiled for matching. Each glob `i` is two patterns, `2i` (itself) and `2i + 1`
/// (everything under it: `config/prod` also means `config/prod/…`). Globs without a
/// wildcard (`.env.prod`, `config/prod`, the commonest kind) are looked up in a map;
/// only the others build a `GlobSet`, which costs about 0.15 M instructions even for one
/// pattern (a tenth of `exec`'s start).
#[derive(Clone, Debug, Default)]
pub struct Matcher {
    /// A literal glob's path to its glob indices (a glob may be listed twice).
    literals: std::collections::HashMap<String, Vec<usize>>,
    set: Option<GlobSet>,
    /// The pattern number of each pattern in `set`.
    set_patterns: Vec<usize>,
}

impl Matcher {
    /// The pattern numbers (see [`Matcher`]) matching `rel`, in increasing order.
    pub fn matches(&self, rel: &str) -> Vec<usize> {
        let mut hits: Vec<usize> = match &self.set {
            Some(set) => set
                .matches(rel)
                .into_iter()
                .map(|p| self.set_patterns[p])
                .collect(),
            None => Vec::new(),
        };
        if !self.literals.is_empty() {
            if let Some(globs) = self.literals.get(rel) {
                hits.extend(globs.iter().map(|g| 2 * g));
            }
            // Each directory above `rel` is a literal glob's "under" pattern.
            for (at, _) in rel.match_indices('/') {
                if let Some(globs) = self.literals.get(&rel[..at]) {
                    hits.extend(globs.iter().map(|g| 2 * g + 1));
                }
            }
            hits.sort_unstable();
        }
        hits
    }

    /// Whether any pattern matches `rel`, without collecting which (no allocation: the
    /// walk asks this of every file).
    pub fn is_match(&self, rel: &str) -> bool {
        self.set.as_ref().is_some_and(|set| set.is_match(rel))
            || self.literals.contains_key(rel)
            || rel
                .match_indices('/')
                .any(|(at, _)| self.literals.contains_key(&rel[..at]))
    }
}

/// A glob that matches only the path it spells: no wildcard, class, brace or escape.
fn is_literal(glob: &str) -> bool {
    !glob.contains(['*', '?', '[', ']', '{', '}', '\\'])
}

/// Compiles globs into one [`Matcher`]; `Err((index, message))` names the bad glob.
pub fn compile(globs: &[String]) -> Result<Matcher, (usize, String)> {
    let mut matcher = Matcher::default();
    let mut b = GlobSetBuilder::new();
    for (i, g) in globs.iter().enumerate() {
        let (g, glob) = parse(i, g)?;
        if is_literal(&g) {
            matcher.literals.entry(g).or_default().push(i);
            continue;
        }
        // `config/**` already covers what is under it (added twice, so that every glob is
        // two patterns: a cheap prefix test, where `config/**/**` would be a regular
        // expression per glob).
        let under = if g.ends_with("/**") {
            glob.clone()
        } else {
            build(&format!("{g}/**")).map_err(|e| (i, e.kind().to_string()))?
        };
        b.add(glob);
        b.add(under);
        matcher.set_patterns.extend([2 * i, 2 * i + 1]);
    }
    if !matcher.set_patterns.is_empty() {
        matcher.set = Some(b.build().map_err(|e| (0, e.to_string()))?);
    }
    Ok(matcher)
}

/// Example paths a glob matches: braces expanded, wildcards replaced by a letter. Used to
/// find globs of two environments that claim the same files.
pub fn samples(glob: &str) -> Vec<String> {
    expand_braces(&normalize(glob))
        .into_iter()
        .map(|g| concretize(&g))
        .collect()
}

fn expand_braces(g: &str) -> Vec<String> {
    let Some(open) = g.find('{') else {
        return vec![g.to_string()];
    };
    let Some(close_rel) = g[open..].find('}') else {
        return vec![g.to_string()];
    };
    let close = open + close_rel;
    let (head, body, tail) = (&g[..open], &g[open + 1..close], &g[close + 1..]);
    let mut out = Vec::new();
    for alt in body.split(',').take(16) {
        for rest in expand_braces(tail) {
            out.push(format!("{head}{alt}{rest}"));
            if out.len() >= 64 {
                return out;
            }
        }
    }
    out
}

fn concretize(g: &str) -> String {
    let mut out = String::new();
    let mut chars = g.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '*' => {
                while chars.peek() == Some(&'*') {
                    chars.next();
                }
                out.push('x');
            }
            '?' => out.push('x'),
            '\\' => {
                if let Some(n) = chars.next() {
                    out.push(n);
                }
            }
            '[' => {
                let mut class = String::new();
                for n in chars.by_ref() {
                    if n == ']' && !class.is_empty() {
                        break;
                    }
                    class.push(n);
                }
                let negated = class.starts_with(['!', '^']);
                let pick = class
                    .trim_start_matches(['!', '^'])
                    .chars()
                    .next()
                    .unwrap_or('x');
                out.push(if negated {
                    if pick == 'x' {
                        'y'
                    } else {
                        'x'
                    }
                } else {
                    pick
                });
            }
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matching() {
        let set = compile(&[
            "config/dev/**".into(),
            ".env.dev".into(),
            "./x/*.yaml".into(),
        ])
        .unwrap();
        assert!(set.is_match("config/dev/a/b.yaml"));
        assert!(set.is_match(".env.dev"));
        assert!(set.is_match("x/a.yaml"));
        assert!(!set.is_match("x/y/a.yaml"));
        assert!(!set.is_match("config/prod/a.yaml"));
        let dir = compile(&["config/prod".into()]).unwrap();
        assert!(check_inside("config/**").is_ok() && check_inside("./a/b").is_ok());
        assert!(check_inside("a..b/*.yaml").is_ok());
        for bad in [
            "/etc/**",
            "../**",
            "a/../../b",
            "~/x",
            " /etc/passwd",
            "a/..",
        ] {
            assert!(check_inside(bad).is_err(), "{bad}");
        }
        assert!(dir.is_match("config/prod/db.yaml"));
        assert!(compile(&["a/[".into()]).is_err());
    }

    #[test]
    fn literal_bases() {
        assert_eq!(literal_base(".env"), ".env");
        assert_eq!(literal_base("config/prod/**"), "config/prod");
        assert_eq!(literal_base("config/*.yaml"), "config");
        assert_eq!(literal_base("**/.env"), "");
        assert_eq!(literal_base("{a,b}/x"), "");
    }

    #[test]
    fn samples_hit_overlaps() {
        let wide = compile(&["config/**".into()]).unwrap();
        assert!(samples("config/prod/**").iter().any(|s| wide.is_match(s)));
        let prod = compile(&["config/prod/**".into()]).unwrap();
        assert!(!samples("config/dev/**").iter().any(|s| prod.is_match(s)));
        assert_eq!(samples("{a,b}/*.[ch]"), vec!["a/x.c", "b/x.c"]);
    }

    /// Every glob as `GlobSet` patterns, as `compile` built them before literals were
    /// looked up in a map: the reference the map must agree with.
    fn all_in_globset(globs: &[&str]) -> GlobSet {
        let mut b = GlobSetBuilder::new();
        for g in globs {
            let g = normalize(g);
            b.add(build(&g).unwrap());
            b.add(
                build(&if g.ends_with("/**") {
                    g.clone()
                } else {
                    format!("{g}/**")
                })
                .unwrap(),
            );
        }
        b.build().unwrap()
    }

    #[test]
    fn literal_globs_match_as_globset_does() {
        let globs = [
            ".env.prod",
            "config/prod",
            "config/*.yaml",
            "./config/prod/app.yaml",
            "config/prod",
            "a.b/c",
            "deep/er/still/x.env",
            "config/**",
            "x",
        ];
        let owned: Vec<String> = globs.iter().map(|g| g.to_string()).collect();
        let ours = compile(&owned).unwrap();
        let reference = all_in_globset(&globs);
        for path in [
            ".env.prod",
            ".env.production",
            ".env.prod/x",
            "config",
            "config/prod",
            "config/prod/app.yaml",
            "config/prod/a/b/c.yaml",
            "config/production/app.yaml",
            "config/x.yaml",
            "a.b/c",
            "a.b/c/d",
            "axb/c",
            "deep/er/still/x.env",
            "deep/er/still",
            "x",
            "x/y",
            "y/x",
            "",
        ] {
            assert_eq!(ours.matches(path), reference.matches(path), "{path}");
            assert_eq!(ours.is_match(path), reference.is_match(path), "{path}");
        }
    }
}
