//! The schema check `exec` and `export` run before anything starts: the values the program
//! would get, after later files override earlier ones, against the rules of the
//! environment(s) they belong to (see [`crate::policy::check::check_values`]).
//!
//! Judged is what the program receives, not each file on its own: a file given with `-f`
//! that overrides a value of the checked environment is checked by that environment's
//! rules, whether it belongs to no environment or to another one.
//!
//! Which rules judge a value:
//! - with `--env E`, every value by E's rules (`required` too, unless `--only` narrows the
//!   selection);
//! - without it, each value by the environment of its file; a value from a file in no
//!   environment by every environment the run reads from (the strictest reading), and by
//!   none when no file belongs to one.

use foldhash::HashMap;
use std::path::Path;

use crate::config::Config;
use crate::exec::env::Var;
use crate::policy::check::{check_values, EnvValues, Finding, Plaintext, Subject};

/// What the gate learns about the files while they are decrypted, to judge their merged
/// values at the end.
pub struct SchemaGate {
    /// `None` when there is no config, or it has neither a schema nor a production
    /// environment: nothing to check.
    config: Option<Config>,
    /// `--env E`: its rules judge every value.
    selected: Option<String>,
    /// Whether the values are all of the selected environment's (so `required` can be judged).
    whole: bool,
    /// Per file, as [`Var::file`] names it: how findings show it, and its environment.
    files: HashMap<String, FileEnv>,
}

struct FileEnv {
    shown: String,
    env: Option<String>,
}

impl SchemaGate {
    /// `config`: the one the files were selected by (`--env`), or the one found above the
    /// first file (a config that does not load is an error: a broken schema must not turn
    /// the check off). `whole`: no `--only` narrows the values.
    pub fn new(config: Option<Config>, selected: Option<String>, whole: bool) -> SchemaGate {
        let config = config
            .filter(|c| !c.schema().is_empty() || c.environments().iter().any(|e| e.production));
        SchemaGate {
            config,
            selected,
            whole,
            files: HashMap::default(),
        }
    }

    /// Records the environment of `path`, whose values name it as `name` ([`Var::file`]).
    pub fn add_file(&mut self, path: &Path, name: &str) {
        let Some(config) = &self.config else {
            return;
        };
        let rel = config.relative(path);
        let env = rel
            .as_ref()
            .and_then(|r| config.environment_for(r))
            .map(str::to_string);
        let shown = rel
            .map(|r| crate::config::rel_string(&r))
            .unwrap_or_else(|| path.display().to_string());
        self.files.insert(name.to_string(), FileEnv { shown, env });
    }

    /// The violations of the merged `vars` (what the program gets), skipped checks left out.
    pub fn violations(&self, vars: &[Var]) -> Vec<Finding> {
        let Some(config) = &self.config else {
            return Vec::new();
        };
        let run_envs = self.env_names();
        let mut per_env: Vec<Vec<Subject>> = run_envs
            .iter()
            .map(|_| Vec::with_capacity(vars.len()))
            .collect();
        for var in vars {
            let file = self.files.get(&var.file);
            let judged_by = |env: &String| match (&self.selected, file.and_then(|f| f.env.as_ref()))
            {
                (Some(_), _) | (None, None) => true,
                (None, Some(own)) => own == env,
            };
            for (slot, env) in run_envs.iter().enumerate() {
                if judged_by(env) {
                    per_env[slot].push(Subject {
                        file: file.map_or(&var.file, |f| &f.shown).into(),
                        name: (&var.name).into(),
                        key: (&var.key).into(),
                        value: Some(Plaintext::Borrowed(var.value())),
                    });
                }
            }
        }
        let mut broken = Vec::new();
        for (name, subjects) in run_envs.iter().zip(&per_env) {
            let env = EnvValues {
                name,
                production: config.environment(name).is_some_and(|e| e.production),
                subjects,
            };
            let complete = self.whole && self.selected.is_some();
            broken.extend(
                check_values(config.schema(), &env, complete)
                    .into_iter()
                    .filter(|f| !f.skipped),
            );
        }
        broken
    }

    /// The environments whose rules were applied, for the message.
    pub fn env_names(&self) -> Vec<String> {
        match &self.selected {
            Some(e) => vec![e.clone()],
            None => {
                let mut envs: Vec<String> =
                    self.files.values().filter_map(|f| f.env.clone()).collect();
                envs.sort();
                envs.dedup();
                envs
            }
        }
    }
}
