//! Asterisk's reading of a file: the [`Loader`] state machine and its
//! resolvers.

use std::collections::VecDeque;
use std::sync::Arc;

use crate::config::{Config, FileId, Origin, Section, Text, Variable};
use crate::diag::{Diagnostic, DiagnosticKind, LoadError, LoadErrorKind, Severity};
use crate::filter::{self, Candidate};
use crate::glob;
use crate::lex::{self, CommentState};
use crate::regex::Regex;
use crate::syntax::{DirectiveKind, Document, Kind, LexStart, Operator, dequote};

/// Asterisk's `MAX_INCLUDE_LEVEL`.
pub const MAX_INCLUDE_LEVEL: u32 = 10;
/// The longest section name Asterisk keeps (its buffer holds 80 bytes).
pub const MAX_SECTION_NAME: usize = 79;

/// Options of a load.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct LoadOptions {
    /// Run `#exec` directives (Asterisk's `execincludes` option in
    /// `asterisk.conf`). Off by default: `#exec` lines are skipped with a
    /// warning, as Asterisk does by default.
    pub exec_includes: bool,
}

impl LoadOptions {
    /// Sets [`LoadOptions::exec_includes`].
    pub fn exec_includes(mut self, on: bool) -> Self {
        self.exec_includes = on;
        self
    }
}

/// Why a file is asked for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Purpose {
    /// The main file.
    Main,
    /// An `#include`.
    Include,
    /// A `#tryinclude`.
    TryInclude,
}

/// A request for files.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReadRequest {
    /// The name or pattern as written (dequoted): relative names are
    /// relative to the configuration directory; wildcards and `{a,b}` are
    /// expanded as [`crate::glob::expand`] does.
    pub pattern: String,
    /// Why.
    pub purpose: Purpose,
    /// The file with the directive (`None` for the main file).
    pub from: Option<String>,
    /// The directive's line (0 for the main file).
    pub line: u32,
}

/// A request to run an `#exec` program.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ExecRequest {
    /// The command as written (dequoted).
    pub command: String,
    /// The file with the directive.
    pub from: String,
    /// The directive's line.
    pub line: u32,
}

/// What the loader needs before it can go on.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// Files matching a pattern.
    Read(ReadRequest),
    /// The standard output of a program.
    Exec(ExecRequest),
}

/// A file's contents with the path it is known by (used in diagnostics).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SourceFile {
    /// The path (for diagnostics and [`Config::files`]).
    pub path: String,
    /// The bytes.
    pub bytes: Vec<u8>,
}

impl SourceFile {
    /// A file from its path and bytes.
    pub fn new(path: impl Into<String>, bytes: impl Into<Vec<u8>>) -> SourceFile {
        SourceFile {
            path: path.into(),
            bytes: bytes.into(),
        }
    }
}

/// Answers a loader's requests synchronously.
pub trait Resolver {
    /// The files matching `request.pattern`, in Asterisk's order (see
    /// [`crate::glob::expand`]); empty when there is none.
    fn read(&mut self, request: &ReadRequest) -> Vec<SourceFile>;

    /// Runs an `#exec` program and returns its standard output. Only asked
    /// when [`LoadOptions::exec_includes`] is on. By default: refused.
    fn exec(&mut self, request: &ExecRequest) -> Result<Vec<u8>, String> {
        let _ = request;
        Err("no #exec runner was given".into())
    }
}

/// Files in memory under a configuration directory name; patterns are
/// expanded over them as the filesystem would.
#[derive(Clone, Debug, Default)]
pub struct MemoryResolver {
    dir: String,
    files: std::collections::BTreeMap<String, Vec<u8>>,
}

impl MemoryResolver {
    /// An empty set of files whose configuration directory is `dir`
    /// (paths in diagnostics are `dir/name`).
    pub fn new(dir: impl Into<String>) -> MemoryResolver {
        MemoryResolver {
            dir: dir.into().trim_end_matches('/').to_string(),
            files: Default::default(),
        }
    }

    /// Adds a file; a relative name is taken relative to the directory.
    pub fn insert(&mut self, name: &str, bytes: impl Into<Vec<u8>>) -> &mut Self {
        let path = self.full(name);
        self.files.insert(path, bytes.into());
        self
    }

    /// Builder form of [`MemoryResolver::insert`].
    pub fn with(mut self, name: &str, bytes: impl Into<Vec<u8>>) -> Self {
        self.insert(name, bytes);
        self
    }

    fn full(&self, name: &str) -> String {
        if name.starts_with('/') {
            name.to_string()
        } else {
            format!("{}/{}", self.dir, name)
        }
    }
}

impl Resolver for MemoryResolver {
    fn read(&mut self, request: &ReadRequest) -> Vec<SourceFile> {
        let pattern = self.full(&request.pattern);
        let files = &self.files;
        let mut list = |dir: &str| -> Option<Vec<String>> {
            let prefix = format!("{}/", dir.trim_end_matches('/'));
            let mut names: Vec<String> = files
                .keys()
                .filter_map(|k| k.strip_prefix(&prefix))
                .map(|rest| rest.split('/').next().unwrap_or("").to_string())
                .collect();
            names.dedup();
            Some(names)
        };
        let mut exists = |p: &str| files.contains_key(p);
        glob::expand(&pattern, &mut list, &mut exists)
            .into_iter()
            .filter_map(|p| {
                self.files
                    .get(&p)
                    .map(|b| SourceFile::new(p.clone(), b.clone()))
            })
            .collect()
    }
}

#[derive(Clone, Debug)]
struct Var {
    name: Vec<u8>,
    value: Vec<u8>,
    object: bool,
    inherited: bool,
    origin: Origin,
}

#[derive(Clone, Debug)]
struct Cat {
    name: Vec<u8>,
    template: bool,
    templates: Vec<Vec<u8>>,
    vars: Vec<Var>,
    origin: Origin,
}

impl Candidate for Cat {
    fn name(&self) -> &[u8] {
        &self.name
    }
    fn is_template(&self) -> bool {
        self.template
    }
    fn has_variable(&self, name: &Regex, value: &Regex) -> bool {
        self.vars
            .iter()
            .any(|v| name.is_match(&v.name) && value.is_match(&v.value))
    }
}

/// One `config_text_file_load` call: the files one name matched, read one
/// after the other with one block-comment state and one current section.
struct Frame {
    queue: VecDeque<SourceFile>,
    doc: Option<Arc<Document>>,
    file: FileId,
    path: String,
    next: usize,
    first: bool,
    comment: CommentState,
    cat: Option<usize>,
}

enum Pending {
    Read(ReadRequest),
    Exec(ExecRequest),
}

/// Reads a configuration as Asterisk does, asking its caller for files.
///
/// # Driving it
///
/// 1. [`Loader::new`] with the main file's name.
/// 2. Call [`Loader::poll`]. `Some(request)` asks for files
///    ([`Request::Read`]: answer with [`Loader::handle_files`]) or for the
///    output of a program ([`Request::Exec`]: answer with
///    [`Loader::handle_exec`]). Answer, then poll again. A poll before the
///    answer returns the same request again.
/// 3. When `poll` returns `None`, [`Loader::finish`] gives the result.
///
/// [`Loader::run`] does all this with a [`Resolver`]; [`MemoryResolver`]
/// serves files from memory and [`crate::FsResolver`] from a directory.
///
/// # What Asterisk does, and so what this does
///
/// - A header `[name]` starts a section; `(!)` makes it a template,
///   `(a,b)` copies the variables of the earlier sections `a` then `b`
///   (templates or not) in front of its own, `(+)` adds to the first
///   earlier non-template section of that name instead, `(+filter)` to the
///   first one the filter accepts.
/// - `name += more` appends `more` to the last variable of exactly that
///   name; the variable Asterisk then replaces is the *first* one with that
///   name and value (both compared without case), which is not always the
///   same one.
/// - `#include` / `#tryinclude` read the files matching a pattern (see
///   [`crate::glob`]), each continuing the section opened last anywhere;
///   after the include, the including file goes on in its own section. A
///   missing `#include` is an error, a missing `#tryinclude` is not.
///   Includes nest 10 deep at most.
/// - A fatal error in an *included* file ends the reading of that file
///   only: Asterisk keeps what was read before it and carries on with the
///   including file (and its count of include levels stays one higher).
/// - `#exec` is refused (with a warning) unless [`LoadOptions::exec_includes`]
///   is set; then the loader asks for the program's output and reads it as
///   an included file.
/// - Line numbers are counted per file. (Asterisk goes on counting from
///   the first file into the next ones when one pattern matched several,
///   so its log may give larger numbers for those.)
pub struct Loader {
    options: LoadOptions,
    cats: Vec<Cat>,
    current: Option<usize>,
    include_level: u32,
    includes: Vec<(Vec<u8>, u32)>,
    frames: Vec<Frame>,
    pending: Option<Pending>,
    files: Vec<String>,
    diags: Vec<Diagnostic>,
    result: Option<Result<(), (LoadErrorKind, String, u32)>>,
}

impl std::fmt::Debug for Loader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Loader")
            .field("sections", &self.cats.len())
            .field("include_level", &self.include_level)
            .field("files", &self.files)
            .finish_non_exhaustive()
    }
}

fn trim_value(mut v: Vec<u8>) -> Vec<u8> {
    while v.last().is_some_and(|&b| lex::is_blank(b)) {
        v.pop();
    }
    let lead = v.iter().take_while(|&&b| lex::is_blank(b)).count();
    v.drain(..lead);
    v
}

impl Loader {
    /// A loader for the main file `name` (a name or pattern, as
    /// Asterisk's `ast_config_load` takes it), with default options.
    pub fn new(name: &str) -> Loader {
        Loader::with_options(name, LoadOptions::default())
    }

    /// A loader with options.
    pub fn with_options(name: &str, options: LoadOptions) -> Loader {
        Loader {
            options,
            cats: Vec::new(),
            current: None,
            include_level: 0,
            includes: Vec::new(),
            frames: Vec::new(),
            pending: Some(Pending::Read(ReadRequest {
                pattern: name.to_string(),
                purpose: Purpose::Main,
                from: None,
                line: 0,
            })),
            files: Vec::new(),
            diags: Vec::new(),
            result: None,
        }
    }

    /// Reads a configuration from `resolver` (all of [`Loader`]'s steps).
    pub fn run(mut self, resolver: &mut (impl Resolver + ?Sized)) -> Result<Config, LoadError> {
        while let Some(request) = self.poll() {
            match request {
                Request::Read(r) => {
                    let files = resolver.read(&r);
                    self.handle_files(files);
                }
                Request::Exec(e) => {
                    let out = resolver.exec(&e);
                    self.handle_exec(out);
                }
            }
        }
        self.finish()
    }

    /// The next request to answer, or `None` when reading is over (then
    /// call [`Loader::finish`]).
    #[must_use]
    pub fn poll(&mut self) -> Option<Request> {
        self.advance();
        match &self.pending {
            Some(Pending::Read(r)) => Some(Request::Read(r.clone())),
            Some(Pending::Exec(e)) => Some(Request::Exec(e.clone())),
            None => None,
        }
    }

    /// Answers a [`Request::Read`]: the files that matched, in order
    /// (empty: none). Ignored when no read is pending.
    pub fn handle_files(&mut self, files: Vec<SourceFile>) {
        let Some(Pending::Read(req)) = self.pending.take() else {
            return;
        };
        match req.purpose {
            Purpose::Main => {
                if files.is_empty() {
                    self.result = Some(Err((
                        LoadErrorKind::NotFound { name: req.pattern },
                        String::new(),
                        0,
                    )));
                } else {
                    self.include_level = 1;
                    self.push_frame(files);
                }
            }
            Purpose::Include | Purpose::TryInclude => {
                if files.is_empty() {
                    self.include_level -= 1;
                    let kind = if req.purpose == Purpose::Include {
                        DirectiveKind::Include
                    } else {
                        DirectiveKind::TryInclude
                    };
                    self.missing(kind, req.pattern.as_bytes(), req.line);
                } else {
                    self.push_frame(files);
                }
            }
        }
    }

    /// Answers a [`Request::Exec`]: the program's standard output, or why
    /// it could not run (then Asterisk's reading of the file fails, as
    /// when its `#exec` fails). Ignored when no exec is pending.
    pub fn handle_exec(&mut self, output: Result<Vec<u8>, String>) {
        let Some(Pending::Exec(req)) = self.pending.take() else {
            return;
        };
        match output {
            Err(reason) => self.fatal(
                LoadErrorKind::ExecFailed {
                    command: req.command.into_bytes(),
                    reason,
                },
                req.line,
            ),
            Ok(bytes) => {
                let file = SourceFile::new(format!("#exec {}", req.command), bytes);
                self.include(DirectiveKind::Exec, None, req.line, Some(file));
            }
        }
    }

    /// The configuration read, or why Asterisk would reject it. Requests
    /// still unanswered count as files that are not there.
    pub fn finish(mut self) -> Result<Config, LoadError> {
        while self.result.is_none() {
            match &self.pending {
                Some(Pending::Read(_)) => self.handle_files(Vec::new()),
                Some(Pending::Exec(_)) => self.handle_exec(Err("not run".into())),
                None => self.advance(),
            }
        }
        let diagnostics = self.diags;
        match self.result {
            Some(Err((kind, file, line))) => Err(LoadError {
                kind,
                file,
                line,
                diagnostics,
            }),
            _ => {
                let sections = self
                    .cats
                    .into_iter()
                    .map(|c| Section {
                        name: Text::from_bytes(&c.name),
                        template: c.template,
                        templates: c.templates.iter().map(|t| Text::from_bytes(t)).collect(),
                        variables: c
                            .vars
                            .into_iter()
                            .map(|v| Variable {
                                name: Text::from_bytes(&v.name),
                                value: Text::from_bytes(&v.value),
                                object: v.object,
                                inherited: v.inherited,
                                origin: v.origin,
                            })
                            .collect(),
                        origin: c.origin,
                    })
                    .collect();
                Ok(Config {
                    sections,
                    files: self.files,
                    diagnostics,
                })
            }
        }
    }

    fn push_frame(&mut self, files: Vec<SourceFile>) {
        self.frames.push(Frame {
            queue: files.into(),
            doc: None,
            file: FileId(0),
            path: String::new(),
            next: 0,
            first: true,
            comment: CommentState::default(),
            cat: self.current,
        });
    }

    fn diag(&mut self, severity: Severity, kind: DiagnosticKind, line: u32) {
        let file = self.frames.last().map_or(String::new(), |f| f.path.clone());
        self.diags.push(Diagnostic {
            severity,
            kind,
            file,
            line,
        });
    }

    fn warn(&mut self, kind: DiagnosticKind, line: u32) {
        self.diag(Severity::Warning, kind, line);
    }

    /// Asterisk logs `Unterminated comment` after each file that ends (or
    /// stops) inside a block comment.
    fn check_unterminated(&mut self, depth: i32, opened_at: u32) {
        if depth != 0 {
            self.warn(DiagnosticKind::UnterminatedComment { opened_at }, 0);
        }
    }

    /// A fatal error in the file on top: it stops being read; if it is the
    /// main file, the load fails.
    fn fatal(&mut self, kind: LoadErrorKind, line: u32) {
        self.diag(kind.severity(), DiagnosticKind::Fatal(kind.clone()), line);
        let state = self.frames.last().and_then(|f| {
            let doc = f.doc.as_ref()?;
            let l = doc.raw_lines().get((line as usize).checked_sub(1)?)?;
            Some((l.depth_after, l.open_after))
        });
        if let Some((depth, open)) = state {
            self.check_unterminated(depth, open);
        }
        let path = self.frames.pop().map(|f| f.path).unwrap_or_default();
        if self.frames.is_empty() {
            self.result = Some(Err((kind, path, line)));
        }
        // Otherwise an included file failed: Asterisk keeps going in the
        // including file, and does not lower its include level.
    }

    /// Runs until a request is pending or the reading is over.
    fn advance(&mut self) {
        while self.pending.is_none() && self.result.is_none() {
            let Some(frame) = self.frames.last_mut() else {
                self.result = Some(Ok(()));
                return;
            };
            let exhausted = frame
                .doc
                .as_ref()
                .is_none_or(|d| frame.next >= d.line_count());
            if !exhausted {
                let doc = Arc::clone(frame.doc.as_ref().expect("not exhausted"));
                let index = frame.next;
                frame.next += 1;
                self.line(&doc, index);
                continue;
            }
            if let Some(doc) = frame.doc.take() {
                frame.comment = doc.end_state().clone();
                let depth = frame.comment.depth;
                let open = frame.comment.opened.last().copied().unwrap_or(0);
                self.check_unterminated(depth, open);
            }
            let id = FileId(self.files.len() as u32);
            let frame = self.frames.last_mut().expect("frame on top");
            match frame.queue.pop_front() {
                Some(sf) => {
                    let start = LexStart {
                        state: frame.comment.clone(),
                        continued: !frame.first,
                    };
                    frame.first = false;
                    frame.file = id;
                    frame.path = sf.path.clone();
                    frame.doc = Some(Arc::new(Document::parse_from(sf.bytes, start)));
                    frame.next = 0;
                    self.files.push(sf.path);
                }
                None => {
                    // Done with this name.
                    self.frames.pop();
                    if !self.frames.is_empty() {
                        self.include_level -= 1;
                    }
                }
            }
        }
    }

    /// `process_text_line` and what comes before it for one line.
    fn line(&mut self, doc: &Document, index: usize) {
        let info = &doc.raw_lines()[index];
        let lineno = index as u32 + 1;
        if let Kind::TooLong = info.kind {
            let raw = &doc.src()[info.start..info.end];
            let first: Vec<u8> = raw
                .iter()
                .take(32)
                .take_while(|&&b| b != 0)
                .copied()
                .collect();
            self.warn(DiagnosticKind::LineTooLong { begins_with: first }, lineno);
            return;
        }
        if info.hangs {
            self.fatal(LoadErrorKind::CommentNestLimit, lineno);
            return;
        }
        if info.stray_close {
            self.warn(DiagnosticKind::StrayCommentClose, lineno);
        }
        let line = doc.line(index + 1).expect("index in range");
        let cat = self.frames.last().and_then(|f| f.cat);
        match line.kind() {
            crate::LineKind::Blank | crate::LineKind::Comment | crate::LineKind::TooLong => {}
            crate::LineKind::Malformed(m) => match m {
                crate::Malformed::NoClosingBracket => {
                    self.fatal(LoadErrorKind::NoClosingBracket, lineno)
                }
                crate::Malformed::NoClosingParen => {
                    self.fatal(LoadErrorKind::NoClosingParen, lineno)
                }
                _ if cat.is_none() => self.fatal(LoadErrorKind::NoSection, lineno),
                crate::Malformed::InvalidEscape => self.fatal(LoadErrorKind::InvalidEscape, lineno),
                crate::Malformed::NoEquals => self.warn(DiagnosticKind::NoEquals, lineno),
            },
            crate::LineKind::Assignment(a) => {
                let Some(cat) = cat else {
                    self.fatal(LoadErrorKind::NoSection, lineno);
                    return;
                };
                self.assign(cat, &a, lineno);
            }
            crate::LineKind::Section(s) => {
                if let Err(e) = self.header(s.name(), s.options(), lineno) {
                    self.fatal(e, lineno);
                }
            }
            crate::LineKind::Directive(d) => {
                let kind = d.kind();
                match kind {
                    DirectiveKind::Unknown => {
                        self.warn(
                            DiagnosticKind::UnknownDirective {
                                name: d.name().to_vec(),
                            },
                            lineno,
                        );
                        return;
                    }
                    DirectiveKind::Exec if !self.options.exec_includes => {
                        self.warn(DiagnosticKind::ExecDisabled, lineno);
                        return;
                    }
                    _ => {}
                }
                let Some(arg) = d.argument() else {
                    self.warn(
                        DiagnosticKind::MissingArgument {
                            name: d.name().to_vec(),
                            exec: kind == DirectiveKind::Exec,
                        },
                        lineno,
                    );
                    return;
                };
                let target = dequote(arg);
                if kind == DirectiveKind::Exec {
                    let from = self
                        .frames
                        .last()
                        .map(|f| f.path.clone())
                        .unwrap_or_default();
                    self.pending = Some(Pending::Exec(ExecRequest {
                        command: String::from_utf8_lossy(target).into_owned(),
                        from,
                        line: lineno,
                    }));
                    return;
                }
                self.include(kind, Some(target), lineno, None);
            }
        }
    }

    fn assign(&mut self, cat: usize, a: &crate::AssignmentLine<'_>, lineno: u32) {
        let name = a.name();
        if name.is_empty() {
            self.warn(DiagnosticKind::NoName, lineno);
            return;
        }
        let origin = Origin {
            file: self.frames.last().map_or(FileId(0), |f| f.file),
            line: lineno,
        };
        let vars = &mut self.cats[cat].vars;
        if a.operator() == Operator::Append
            && let Some(r) = vars.iter().rposition(|v| v.name == name)
        {
            let mut value = vars[r].value.clone();
            value.extend_from_slice(a.appended().unwrap_or_default());
            let value = trim_value(value);
            let rname = vars[r].name.clone();
            let rvalue = vars[r].value.clone();
            // ast_variable_update: the first variable with that name and
            // value, compared without case.
            let t = vars
                .iter()
                .position(|v| {
                    v.name.eq_ignore_ascii_case(&rname)
                        && (rvalue.is_empty() || v.value.eq_ignore_ascii_case(&rvalue))
                })
                .unwrap_or(r);
            let old = &vars[t];
            vars[t] = Var {
                name: rname,
                value,
                object: old.object,
                inherited: false,
                origin: old.origin,
            };
            return;
        }
        vars.push(Var {
            name: name.to_vec(),
            value: a.value().to_vec(),
            object: a.operator() == Operator::Object,
            inherited: false,
            origin,
        });
    }

    fn find_cat(&mut self, name: &[u8], filter: &[u8], sep: u8) -> Option<usize> {
        let mut errors = Vec::new();
        let found = self
            .cats
            .iter()
            .position(|c| filter::category_matches(c, Some(name), Some(filter), sep, &mut errors));
        for (pattern, reason) in errors {
            self.diag(
                Severity::Error,
                DiagnosticKind::BadRegex { pattern, reason },
                0,
            );
        }
        found
    }

    /// A section header, with Asterisk's handling of its options in order.
    fn header(
        &mut self,
        name: &[u8],
        options: Option<&[u8]>,
        lineno: u32,
    ) -> Result<(), LoadErrorKind> {
        let file = self.frames.last().map_or(FileId(0), |f| f.file);
        let origin = Origin { file, line: lineno };
        let mut newcat = Some(Cat {
            name: name[..name.len().min(MAX_SECTION_NAME)].to_vec(),
            template: false,
            templates: Vec::new(),
            vars: Vec::new(),
            origin,
        });
        // Which category the options work on: the new one, or (after a
        // `+`) the one added to.
        let mut target: Option<usize> = None;
        if let Some(opts) = options {
            for tok in opts.split(|&b| b == b',') {
                if tok == b"!" {
                    match (target, newcat.as_mut()) {
                        (Some(i), _) => self.cats[i].template = true,
                        (None, Some(n)) => n.template = true,
                        (None, None) => {}
                    }
                } else if tok.first() == Some(&b'+') {
                    let Some(i) = self.find_cat(name, &tok[1..], b'&') else {
                        return Err(LoadErrorKind::NoSectionToAddTo {
                            name: name.to_vec(),
                        });
                    };
                    target = Some(i);
                    if let Some(n) = newcat.take() {
                        self.current = Some(i);
                        self.cats[i].template |= n.template;
                        self.cats[i].vars.extend(n.vars);
                    }
                } else {
                    let Some(b) = self.find_cat(tok, b"TEMPLATES=include", b',') else {
                        return Err(LoadErrorKind::UnknownBase { name: tok.to_vec() });
                    };
                    if target == Some(b) {
                        return Err(LoadErrorKind::SelfInheritance { name: tok.to_vec() });
                    }
                    let base_name = self.cats[b].name.clone();
                    let copied: Vec<Var> = self.cats[b]
                        .vars
                        .iter()
                        .map(|v| Var {
                            inherited: true,
                            ..v.clone()
                        })
                        .collect();
                    let t = match target {
                        Some(i) => &mut self.cats[i],
                        None => newcat.as_mut().expect("new category while no target"),
                    };
                    t.templates.push(base_name);
                    t.vars.extend(copied);
                }
            }
        }
        let top = self.frames.last_mut();
        match newcat {
            Some(n) => {
                self.cats.push(n);
                let i = self.cats.len() - 1;
                self.current = Some(i);
                if let Some(f) = top {
                    f.cat = Some(i);
                }
            }
            None => {
                if let Some(f) = top {
                    f.cat = target;
                }
            }
        }
        Ok(())
    }

    /// `ast_include_new` then `ast_config_internal_load`.
    fn include(
        &mut self,
        kind: DirectiveKind,
        name: Option<&[u8]>,
        lineno: u32,
        exec_output: Option<SourceFile>,
    ) {
        if let Some(name) = name {
            let from = if self.include_level == 1 {
                String::new()
            } else {
                self.frames
                    .last()
                    .map(|f| f.path.clone())
                    .unwrap_or_default()
            };
            if let Some(rec) = self.includes.iter_mut().find(|r| r.0 == name) {
                rec.1 += 1;
                let mut saved = name.to_vec();
                saved.extend_from_slice(format!("~~{}", rec.1).as_bytes());
                self.includes.push((saved.clone(), 0));
                self.warn(
                    DiagnosticKind::IncludedTwice {
                        from,
                        saved_as: saved,
                    },
                    lineno,
                );
            } else {
                self.includes.push((name.to_vec(), 0));
            }
        }
        if MAX_INCLUDE_LEVEL > 0 && self.include_level == MAX_INCLUDE_LEVEL + 1 {
            self.warn(DiagnosticKind::IncludeTooDeep, lineno);
            self.missing(kind, name.unwrap_or(b"#exec output"), lineno);
            return;
        }
        self.include_level += 1;
        match exec_output {
            Some(file) => self.push_frame(vec![file]),
            None => {
                let from = self.frames.last().map(|f| f.path.clone());
                self.pending = Some(Pending::Read(ReadRequest {
                    pattern: String::from_utf8_lossy(name.unwrap_or_default()).into_owned(),
                    purpose: if kind == DirectiveKind::TryInclude {
                        Purpose::TryInclude
                    } else {
                        Purpose::Include
                    },
                    from,
                    line: lineno,
                }));
            }
        }
    }

    /// An include that gave nothing.
    fn missing(&mut self, kind: DirectiveKind, name: &[u8], lineno: u32) {
        if kind != DirectiveKind::TryInclude {
            self.fatal(
                LoadErrorKind::IncludeMissing {
                    name: name.to_vec(),
                },
                lineno,
            );
        }
    }
}

/// Reads `name` through `resolver` with default options: the convenience
/// form of [`Loader`].
pub fn load(name: &str, resolver: &mut (impl Resolver + ?Sized)) -> Result<Config, LoadError> {
    Loader::new(name).run(resolver)
}

/// Reads a single file held in memory, as if it were `name` in a
/// configuration directory with nothing else in it (so any `#include`
/// finds nothing).
pub fn load_bytes(name: &str, bytes: impl Into<Vec<u8>>) -> Result<Config, LoadError> {
    let mut r = MemoryResolver::new("").with(name, bytes);
    load(name, &mut r)
}
