//! Real RPs under test, one folder each under `rps/`: an `rp.toml` that says how to build and start
//! the RP under the external-RP contract ([`crate::command`]), and what it can do
//! ([`Abilities`]), next to its source.
//!
//! ```toml
//! title = "Go: golang.org/x/oauth2 + github.com/coreos/go-oidc"
//! # Optional, run once per version of the folder's files; {dir} is the folder, {out} the output.
//! build = ["go", "build", "-o", "{out}/rp", "{dir}"]
//! command = ["{out}/rp"]
//! ready_within_ms = 10000
//! capabilities = ["configured-endpoints", "discovery", "validates-id-token"]
//! conduct = ["checks-token-endpoint-status"]
//! ```

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use serde::Deserialize;
use sha2::{Digest, Sha256};

use crate::capability::Abilities;
use crate::command::CommandRp;
use crate::logchain::LogFormat;

/// One RP under test, as its `rp.toml` describes it.
#[derive(Clone, Debug)]
pub struct RpProfile {
    /// The folder's name: the RP's name in reports, test names and snapshot folders.
    pub name: String,
    /// The `title` from `rp.toml`: a human-readable description of the RP and its libraries.
    pub title: String,
    /// The RP's folder.
    pub dir: PathBuf,
    build: Vec<String>,
    command: Vec<String>,
    ready_within: Duration,
    /// What the RP can do and how it behaves (its `capabilities` and `conduct`), which decides the scenarios it runs.
    pub abilities: Abilities,
    normalize: Vec<(regex::Regex, String)>,
    log_format: LogFormat,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileFile {
    title: String,
    #[serde(default)]
    build: Vec<String>,
    command: Vec<String>,
    ready_within_ms: Option<u64>,
    /// `[regex, replacement]` pairs for the RP's words that change from run to run.
    #[serde(default)]
    normalize: Vec<(String, String)>,
    /// How its log marks error lines: `default`, `apache-error-log`, `go-log`, `every-line`, or
    /// `{ error = "regex", records = "regex" }` (see [`LogFormat`]).
    log_format: Option<LogFormatSpec>,
    #[serde(flatten)]
    abilities: Abilities,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum LogFormatSpec {
    Named(String),
    Custom { error: String, records: Option<String> },
}

impl LogFormatSpec {
    fn build(self, path: &Path) -> Result<LogFormat, ProfileError> {
        let pattern = |pattern: &str| {
            let path = path.to_owned();
            let pattern = pattern.to_owned();
            move |source| ProfileError::Pattern { path, field: "log_format", pattern, source }
        };
        match self {
            LogFormatSpec::Named(name) => match name.as_str() {
                "default" => Ok(LogFormat::default()),
                "apache-error-log" => Ok(LogFormat::apache_error_log()),
                "go-log" => Ok(LogFormat::go_log()),
                "every-line" => Ok(LogFormat::every_line()),
                _ => Err(ProfileError::LogFormat { path: path.to_owned(), name }),
            },
            LogFormatSpec::Custom { error, records } => {
                let format = LogFormat::new(&error).map_err(pattern(&error))?;
                match records {
                    Some(records) => format.records(&records).map_err(pattern(&records)),
                    None => Ok(format),
                }
            }
        }
    }
}

/// An RP folder that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ProfileError {
    /// A folder or `rp.toml` could not be read.
    #[error("cannot read {}", path.display())]
    Read {
        /// The folder or file.
        path: PathBuf,
        /// Why reading failed.
        source: std::io::Error,
    },
    /// `rp.toml` is not valid TOML or does not match the expected fields.
    #[error("malformed {}", path.display())]
    Parse {
        /// The `rp.toml`.
        path: PathBuf,
        /// What the TOML parser reported.
        source: Box<toml::de::Error>,
    },
    /// `command` is empty.
    #[error("invalid {}: field `command` must name a program", path.display())]
    NoCommand {
        /// The `rp.toml`.
        path: PathBuf,
    },
    /// A `normalize` or `log_format` pattern is not a valid regular expression.
    #[error("invalid {}: field `{field}`: `{pattern}` is not a regular expression", path.display())]
    Pattern {
        /// The `rp.toml`.
        path: PathBuf,
        /// The field holding the pattern: `normalize` or `log_format`.
        field: &'static str,
        /// The pattern as written.
        pattern: String,
        /// What the regex parser reported.
        source: regex::Error,
    },
    /// `log_format` names no known format.
    #[error(
        "invalid {}: field `log_format`: `{name}` is not one of default, apache-error-log, go-log, every-line (or give {{ error = \"regex\" }})",
        path.display()
    )]
    LogFormat {
        /// The `rp.toml`.
        path: PathBuf,
        /// The unknown name.
        name: String,
    },
    /// The `build` command ran and exited unsuccessfully.
    #[error("building the RP `{name}` failed: `{command}` exited with {status}; it printed:\n{output}")]
    Build {
        /// The RP's name.
        name: String,
        /// The build command line, placeholders filled in.
        command: String,
        /// How it exited.
        status: String,
        /// Its standard output followed by its standard error.
        output: String,
    },
    /// The `build` command could not be started.
    #[error("building the RP `{name}` failed: cannot run `{command}`")]
    BuildSpawn {
        /// The RP's name.
        name: String,
        /// The build command line, placeholders filled in.
        command: String,
        /// Why it could not start.
        source: std::io::Error,
    },
    /// The build's output folder could not be created, or was missing after the build.
    #[error("building the RP `{name}` failed: cannot prepare {}", path.display())]
    BuildDir {
        /// The RP's name.
        name: String,
        /// The folder.
        path: PathBuf,
        /// What went wrong with it.
        source: std::io::Error,
    },
}

impl RpProfile {
    /// Every `*/rp.toml` under `dir`, sorted by folder name.
    pub fn load_dir(dir: &Path) -> Result<Vec<RpProfile>, ProfileError> {
        let entries = std::fs::read_dir(dir).map_err(|source| ProfileError::Read { path: dir.to_owned(), source })?;
        let mut folders: Vec<PathBuf> =
            entries.flatten().map(|e| e.path()).filter(|p| p.join("rp.toml").is_file()).collect();
        folders.sort();
        folders.iter().map(|folder| RpProfile::load(folder)).collect()
    }

    /// The RP in `folder` (which holds `rp.toml`).
    pub fn load(folder: &Path) -> Result<RpProfile, ProfileError> {
        let path = folder.join("rp.toml");
        let text =
            std::fs::read_to_string(&path).map_err(|source| ProfileError::Read { path: path.clone(), source })?;
        let file: ProfileFile = toml::from_str(&text)
            .map_err(|source| ProfileError::Parse { path: path.clone(), source: Box::new(source) })?;
        if file.command.is_empty() {
            return Err(ProfileError::NoCommand { path });
        }
        let mut normalize = Vec::new();
        for (pattern, replacement) in file.normalize {
            let regex = regex::Regex::new(&pattern).map_err(|source| ProfileError::Pattern {
                path: path.clone(),
                field: "normalize",
                pattern: pattern.clone(),
                source,
            })?;
            normalize.push((regex, replacement));
        }
        let log_format = file.log_format.map_or(Ok(LogFormat::default()), |spec| spec.build(&path))?;
        Ok(RpProfile {
            name: folder.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default(),
            title: file.title,
            dir: folder.to_owned(),
            build: file.build,
            command: file.command,
            ready_within: Duration::from_millis(file.ready_within_ms.unwrap_or(10_000)),
            abilities: file.abilities,
            normalize,
            log_format,
        })
    }

    /// `transcript` with the RP's run-to-run words normalized (its `normalize` pairs).
    pub fn normalize(&self, transcript: &str) -> String {
        self.normalize.iter().fold(transcript.to_owned(), |text, (regex, replacement)| {
            regex.replace_all(&text, replacement.as_str()).into_owned()
        })
    }

    /// The RP as a [`CommandRp`], built first (once per version of its files) into a folder under
    /// `out_root`.
    pub fn launcher(&self, out_root: &Path) -> Result<CommandRp, ProfileError> {
        let out = self.built(out_root)?;
        let fill = |part: &String| {
            part.replace("{dir}", &self.dir.display().to_string()).replace("{out}", &out.display().to_string())
        };
        let mut command = self.command.iter().map(fill);
        let program = command.next().unwrap_or_default();
        Ok(command
            .fold(CommandRp::new(&self.name, program), CommandRp::arg)
            .ready_within(self.ready_within)
            .log_format(self.log_format.clone()))
    }

    /// Runs the build unless its output for this version of the files exists; concurrent callers
    /// (threads or processes) wait for, or race harmlessly to, the same result.
    fn built(&self, out_root: &Path) -> Result<PathBuf, ProfileError> {
        let out = out_root.join(format!("{}-{}", self.name, self.version()));
        if self.build.is_empty() || out.is_dir() {
            return Ok(out);
        }
        static BUILDS: OnceLock<Mutex<HashMap<PathBuf, Arc<Mutex<()>>>>> = OnceLock::new();
        let lock =
            BUILDS.get_or_init(Default::default).lock().expect("builds lock").entry(out.clone()).or_default().clone();
        let _held = lock.lock().expect("build lock");
        if out.is_dir() {
            return Ok(out);
        }
        let partial = out_root.join(format!(".{}-{}-{}.partial", self.name, self.version(), std::process::id()));
        let dir_error = |path: &Path| {
            let (name, path) = (self.name.clone(), path.to_owned());
            move |source| ProfileError::BuildDir { name, path, source }
        };
        let _ = std::fs::remove_dir_all(&partial);
        std::fs::create_dir_all(&partial).map_err(dir_error(&partial))?;
        let fill = |part: &String| {
            part.replace("{dir}", &self.dir.display().to_string()).replace("{out}", &partial.display().to_string())
        };
        let argv: Vec<String> = self.build.iter().map(fill).collect();
        let described = argv.join(" ");
        let done = std::process::Command::new(&argv[0]).args(&argv[1..]).current_dir(&self.dir).output().map_err(
            |source| ProfileError::BuildSpawn { name: self.name.clone(), command: described.clone(), source },
        )?;
        if !done.status.success() {
            let _ = std::fs::remove_dir_all(&partial);
            return Err(ProfileError::Build {
                name: self.name.clone(),
                command: described,
                status: done.status.to_string(),
                output: format!("{}{}", String::from_utf8_lossy(&done.stdout), String::from_utf8_lossy(&done.stderr)),
            });
        }
        // Another process may have finished first: its result is as good as ours.
        if std::fs::rename(&partial, &out).is_err() {
            let _ = std::fs::remove_dir_all(&partial);
        }
        if out.is_dir() {
            Ok(out)
        } else {
            Err(dir_error(&out)(std::io::Error::other("the build's output folder is missing")))
        }
    }

    /// A digest of the folder's files (names and contents), naming the build output.
    fn version(&self) -> String {
        let mut files: Vec<PathBuf> = std::fs::read_dir(&self.dir)
            .map(|entries| entries.flatten().map(|e| e.path()).filter(|p| p.is_file()).collect())
            .unwrap_or_default();
        files.sort();
        let mut digest = Sha256::new();
        for file in files {
            digest.update(file.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default());
            digest.update(std::fs::read(&file).unwrap_or_default());
        }
        digest.finalize().iter().take(6).map(|b| format!("{b:02x}")).collect()
    }
}
