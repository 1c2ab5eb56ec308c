//! Exact IAM, checked from both sides.
//!
//! `functions/<family>/iam-actions.txt` lists, one per line, an action, the template resource it
//! is granted on, and where it is called: `<file under shared/src>::<function>` for the code,
//! or `lambda` for a call the Lambda service makes with the role (writing the logs). A line
//! starting with `-` names a call the code reaches by name but that this function never
//! makes (not granted; a `#` comment must say why). The tests compare each list with the
//! function's role in `template.yaml`, and with the AWS SDK calls the [`CodeIndex`] of
//! `shared/src` finds on the function's code path.

use crate::cfn::{get_att, ref_target};
use serde_json::Value;
use std::collections::BTreeSet;
use std::path::{Path, PathBuf};

/// An action on one resource (a template logical id).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Grant {
    pub action: String,
    pub resource: String,
}

/// Where a listed action is called.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub enum Site {
    /// By the Lambda service on the function's behalf.
    Lambda,
    /// By the code: a file under `shared/src` (`mirror/commit.rs`) and the function in it.
    Code { file: String, function: String },
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ListedGrant {
    pub grant: Grant,
    pub sites: Vec<Site>,
    pub line: usize,
    /// `false` for a `-` line: reached by name, never made by this function, not granted.
    pub granted: bool,
}

#[derive(Debug, thiserror::Error)]
pub enum ListError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("{path}:{line}: expected `<action> <resource> <call site>...`")]
    Malformed { path: String, line: usize },
    #[error("{path}:{line}: a `-` line needs a `#` comment saying why the call is never made")]
    UnexplainedExclusion { path: String, line: usize },
    #[error("{path}:{line}: call site {site} is neither `lambda` nor `<file>::<function>`")]
    BadSite {
        path: String,
        line: usize,
        site: String,
    },
}

/// `functions/<family>/iam-actions.txt`.
pub fn list_path(root: &Path, family: &str) -> PathBuf {
    root.join("functions").join(family).join("iam-actions.txt")
}

/// Reads an action list; `#` starts a comment.
pub fn read_list(path: &Path) -> Result<Vec<ListedGrant>, ListError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ListError::Read {
        path: shown.clone(),
        source,
    })?;
    let mut out = Vec::new();
    for (index, raw) in text.lines().enumerate() {
        let line = index + 1;
        let (content, comment) = raw.split_once('#').unwrap_or((raw, ""));
        let content = content.trim();
        if content.is_empty() {
            continue;
        }
        let (granted, content) = match content.strip_prefix('-') {
            Some(_) if comment.trim().is_empty() => {
                return Err(ListError::UnexplainedExclusion { path: shown, line });
            }
            Some(rest) => (false, rest.trim()),
            None => (true, content),
        };
        let words: Vec<&str> = content.split_whitespace().collect();
        let [action, resource, sites @ ..] = words.as_slice() else {
            return Err(ListError::Malformed { path: shown, line });
        };
        if sites.is_empty() || !action.contains(':') {
            return Err(ListError::Malformed { path: shown, line });
        }
        let sites = sites
            .iter()
            .map(|site| {
                parse_site(site).ok_or_else(|| ListError::BadSite {
                    path: shown.clone(),
                    line,
                    site: (*site).to_string(),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        out.push(ListedGrant {
            grant: Grant {
                action: (*action).to_string(),
                resource: (*resource).to_string(),
            },
            sites,
            line,
            granted,
        });
    }
    Ok(out)
}

fn parse_site(site: &str) -> Option<Site> {
    if site == "lambda" {
        return Some(Site::Lambda);
    }
    let (file, function) = site.split_once("::")?;
    (file.ends_with(".rs") && !function.is_empty()).then(|| Site::Code {
        file: file.into(),
        function: function.into(),
    })
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum PolicyError {
    #[error("resource {0} is missing or not an AWS::IAM::Role")]
    NotARole(String),
    #[error("role {0} has managed policies or a permissions boundary: {1}")]
    Managed(String, String),
    #[error("a statement of {0} is not a plain Allow of listed actions on listed resources: {1}")]
    Unsupported(String, String),
    #[error("a statement of {0} grants on a resource that is not one template resource: {1}")]
    Wildcard(String, String),
}

/// Every action the role allows, on which resource: its inline `Policies` and every
/// `AWS::IAM::RolePolicy`, `AWS::IAM::Policy` or `AWS::IAM::ManagedPolicy` attached to it.
pub fn role_grants(template: &Value, role: &str) -> Result<BTreeSet<Grant>, PolicyError> {
    let resources = template.get("Resources").and_then(Value::as_object);
    let spec = resources
        .and_then(|r| r.get(role))
        .filter(|r| r.get("Type").and_then(Value::as_str) == Some("AWS::IAM::Role"))
        .ok_or_else(|| PolicyError::NotARole(role.into()))?;
    let props = &spec["Properties"];
    for key in ["ManagedPolicyArns", "PermissionsBoundary"] {
        if let Some(value) = props.get(key) {
            return Err(PolicyError::Managed(role.into(), value.to_string()));
        }
    }
    let mut documents: Vec<&Value> = props
        .get("Policies")
        .and_then(Value::as_array)
        .map(|policies| policies.iter().map(|p| &p["PolicyDocument"]).collect())
        .unwrap_or_default();
    for (_, other) in resources.into_iter().flatten() {
        let kind = other
            .get("Type")
            .and_then(Value::as_str)
            .unwrap_or_default();
        let p = &other["Properties"];
        let attached = match kind {
            "AWS::IAM::RolePolicy" => ref_target(&p["RoleName"]) == Some(role),
            "AWS::IAM::Policy" | "AWS::IAM::ManagedPolicy" => p
                .get("Roles")
                .and_then(Value::as_array)
                .is_some_and(|roles| roles.iter().any(|r| ref_target(r) == Some(role))),
            _ => false,
        };
        if attached {
            documents.push(&p["PolicyDocument"]);
        }
    }
    let mut grants = BTreeSet::new();
    for document in documents {
        let statements = document
            .get("Statement")
            .and_then(Value::as_array)
            .ok_or_else(|| PolicyError::Unsupported(role.into(), document.to_string()))?;
        for statement in statements {
            let plain = statement.get("Effect").and_then(Value::as_str) == Some("Allow")
                && ["NotAction", "NotResource", "Condition"]
                    .iter()
                    .all(|k| statement.get(k).is_none());
            if !plain {
                return Err(PolicyError::Unsupported(role.into(), statement.to_string()));
            }
            let actions = one_or_many(&statement["Action"])
                .iter()
                .map(|a| a.as_str().map(str::to_string))
                .collect::<Option<Vec<_>>>()
                .filter(|a| !a.is_empty() && a.iter().all(|a| !a.contains('*')))
                .ok_or_else(|| PolicyError::Unsupported(role.into(), statement.to_string()))?;
            let targets = one_or_many(&statement["Resource"])
                .iter()
                .map(|r| resource_id(template, r))
                .collect::<Option<Vec<_>>>()
                .filter(|r| !r.is_empty())
                .ok_or_else(|| PolicyError::Wildcard(role.into(), statement.to_string()))?;
            for action in &actions {
                for resource in &targets {
                    grants.insert(Grant {
                        action: action.clone(),
                        resource: resource.clone(),
                    });
                }
            }
        }
    }
    Ok(grants)
}

fn one_or_many(value: &Value) -> Vec<Value> {
    match value {
        Value::Array(items) => items.clone(),
        Value::Null => Vec::new(),
        other => vec![other.clone()],
    }
}

/// The one template resource a policy `Resource` names: `!GetAtt X.Arn` or `!Ref X` (X a
/// resource), or `!If [cond, <that>, !Ref <parameter>]` (the stack's own resource, or the one
/// a parameter names instead, as for the secret). Anything else (a string, `*`) is `None`.
fn resource_id(template: &Value, value: &Value) -> Option<String> {
    let is_resource = |id: &str| template["Resources"].get(id).is_some();
    if let Some((id, "Arn")) = get_att(value) {
        return is_resource(id).then(|| id.to_string());
    }
    if let Some(id) = ref_target(value) {
        return is_resource(id).then(|| id.to_string());
    }
    let branches = value.get("Fn::If")?.as_array()?;
    let [_, ours, theirs] = branches.as_slice() else {
        return None;
    };
    let parameter = ref_target(theirs)?;
    template["Parameters"].get(parameter)?;
    resource_id(template, ours)
}

/// An AWS SDK call in the shared crate, found by its method (or transaction item) name.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct CallSite {
    /// Relative to `shared/src`, with `/`.
    pub file: String,
    /// The function the call is written in.
    pub function: String,
    pub action: &'static str,
    pub line: usize,
}

/// SDK fluent calls and transaction items, and the IAM action each needs. A
/// `TransactWriteItems` is authorised per item (Put, Update, Delete, ConditionCheck), so the
/// transaction itself needs no action of its own.
pub const SDK_CALLS: &[(&str, &str)] = &[
    (".put_item()", "dynamodb:PutItem"),
    (".update_item()", "dynamodb:UpdateItem"),
    (".delete_item()", "dynamodb:DeleteItem"),
    (".get_item()", "dynamodb:GetItem"),
    (".batch_get_item()", "dynamodb:BatchGetItem"),
    (".batch_write_item()", "dynamodb:BatchWriteItem"),
    (".transact_get_items()", "dynamodb:GetItem"),
    (".scan()", "dynamodb:Scan"),
    ("Put::builder()", "dynamodb:PutItem"),
    ("Update::builder()", "dynamodb:UpdateItem"),
    ("Delete::builder()", "dynamodb:DeleteItem"),
    ("ConditionCheck::builder()", "dynamodb:ConditionCheckItem"),
    (".send_message()", "sqs:SendMessage"),
    (".send_message_batch()", "sqs:SendMessage"),
    (".receive_message()", "sqs:ReceiveMessage"),
    (".delete_message()", "sqs:DeleteMessage"),
    (".get_queue_attributes()", "sqs:GetQueueAttributes"),
    (".get_secret_value()", "secretsmanager:GetSecretValue"),
    (".describe_secret()", "secretsmanager:DescribeSecret"),
    (".put_metric_data()", "cloudwatch:PutMetricData"),
];

/// One function of the code: where it is, the names it uses, the SDK calls in it.
#[derive(Debug, Clone)]
pub struct FnInfo {
    pub file: String,
    pub name: String,
    /// Identifiers used as calls (`name(`, `name::<T>(`) or as paths (`Type::name`).
    pub uses: BTreeSet<String>,
    pub calls: Vec<CallSite>,
}

/// The functions of a source tree, for a crude, conservative call graph: a use of a name
/// reaches every function of that name (over-approximating, never missing a call by name).
#[derive(Debug, Clone, Default)]
pub struct CodeIndex {
    pub functions: Vec<FnInfo>,
}

impl CodeIndex {
    /// Indexes the `.rs` files under `src`; files are named relative to it (`mirror/commit.rs`).
    pub fn of_tree(src: &Path) -> Result<Self, std::io::Error> {
        let mut files = Vec::new();
        collect_rust_files(src, &mut files)?;
        files.sort();
        let mut index = CodeIndex::default();
        for path in files {
            let text = std::fs::read_to_string(&path)?;
            let relative = path
                .strip_prefix(src)
                .unwrap_or(&path)
                .components()
                .map(|c| c.as_os_str().to_string_lossy())
                .collect::<Vec<_>>()
                .join("/");
            index.functions.extend(scan(&relative, &text));
        }
        Ok(index)
    }

    /// Every SDK call in the tree.
    pub fn call_sites(&self) -> Vec<&CallSite> {
        self.functions.iter().flat_map(|f| &f.calls).collect()
    }

    /// The functions reachable from `roots` (names used by the entry point), never entering a
    /// file for which `excluded` holds.
    pub fn reachable(
        &self,
        roots: &BTreeSet<String>,
        excluded: impl Fn(&str) -> bool,
    ) -> Vec<&FnInfo> {
        let mut seen = vec![false; self.functions.len()];
        let mut names: Vec<String> = roots.iter().cloned().collect();
        let mut visited_names = BTreeSet::new();
        while let Some(name) = names.pop() {
            if !visited_names.insert(name.clone()) {
                continue;
            }
            for (i, f) in self.functions.iter().enumerate() {
                if !seen[i] && f.name == name && !excluded(&f.file) {
                    seen[i] = true;
                    names.extend(f.uses.iter().cloned());
                }
            }
        }
        self.functions
            .iter()
            .zip(seen)
            .filter_map(|(f, s)| s.then_some(f))
            .collect()
    }
}

/// The names used anywhere in the `.rs` files under `dir` (an entry point's roots).
pub fn names_used_in(dir: &Path) -> Result<BTreeSet<String>, std::io::Error> {
    let index = CodeIndex::of_tree(dir)?;
    Ok(index.functions.into_iter().flat_map(|f| f.uses).collect())
}

fn collect_rust_files(dir: &Path, out: &mut Vec<PathBuf>) -> Result<(), std::io::Error> {
    for entry in std::fs::read_dir(dir)? {
        let path = entry?.path();
        if path.is_dir() {
            collect_rust_files(&path, out)?;
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
    Ok(())
}

/// Scans one file into its functions. A function runs from its `fn` line to the next one;
/// lines before the first belong to `<file>`. Skips `//` lines, string contents and
/// `#[cfg(test)]` modules (brace-counted).
pub fn scan(file: &str, text: &str) -> Vec<FnInfo> {
    let mut out = vec![FnInfo {
        file: file.into(),
        name: "<file>".into(),
        uses: BTreeSet::new(),
        calls: Vec::new(),
    }];
    let mut test_attribute = false;
    let mut skip_depth: Option<i64> = None;
    for (index, raw) in text.lines().enumerate() {
        let line = raw.trim();
        if let Some(depth) = skip_depth.as_mut() {
            *depth += braces(line);
            if *depth <= 0 {
                skip_depth = None;
            }
            continue;
        }
        if line.starts_with("//") {
            continue;
        }
        if line.starts_with("#[cfg(test)]") {
            test_attribute = true;
            continue;
        }
        if test_attribute && !line.starts_with("#[") {
            test_attribute = false;
            if line.contains("mod ") && line.ends_with('{') {
                let depth = braces(line);
                if depth > 0 {
                    skip_depth = Some(depth);
                }
                continue;
            }
        }
        let code = strip_strings(line);
        if let Some(name) = function_name(&code) {
            out.push(FnInfo {
                file: file.into(),
                name,
                uses: BTreeSet::new(),
                calls: Vec::new(),
            });
        }
        let Some(current) = out.last_mut() else {
            continue;
        };
        current.uses.extend(used_names(&code));
        for (pattern, action) in SDK_CALLS {
            if code.contains(pattern) {
                current.calls.push(CallSite {
                    file: file.into(),
                    function: current.name.clone(),
                    action,
                    line: index + 1,
                });
            }
        }
    }
    out
}

/// The line with the contents of its string literals removed (quotes kept).
fn strip_strings(line: &str) -> String {
    let mut out = String::with_capacity(line.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in line.chars() {
        if in_string {
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
                out.push(c);
            }
        } else {
            if c == '"' {
                in_string = true;
            }
            out.push(c);
        }
    }
    out
}

/// Identifiers followed by `(` (or by a turbofish `::<`), or preceded by `::`.
fn used_names(code: &str) -> Vec<String> {
    let chars: Vec<char> = code.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        if chars[i].is_alphabetic() || chars[i] == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_alphanumeric() || chars[i] == '_') {
                i += 1;
            }
            let word: String = chars[start..i].iter().collect();
            let after: String = chars[i..].iter().take(3).collect();
            let before: String = chars[start.saturating_sub(2)..start].iter().collect();
            if after.starts_with('(') || after.starts_with("::<") || before == "::" {
                out.push(word);
            }
        } else {
            i += 1;
        }
    }
    out
}

fn braces(line: &str) -> i64 {
    line.chars().fold(0, |n, c| match c {
        '{' => n + 1,
        '}' => n - 1,
        _ => n,
    })
}

/// `pub async fn name(` / `fn name<T>(` ... -> `name`.
fn function_name(line: &str) -> Option<String> {
    const QUALIFIERS: &[&str] = &[
        "pub",
        "pub(crate)",
        "pub(super)",
        "async",
        "const",
        "unsafe",
    ];
    let mut words = line.split_whitespace();
    loop {
        let word = words.next()?;
        if word == "fn" {
            let name: String = words
                .next()?
                .chars()
                .take_while(|c| c.is_alphanumeric() || *c == '_')
                .collect();
            return (!name.is_empty()).then_some(name);
        }
        if !QUALIFIERS.contains(&word) {
            return None;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn calls_are_attributed_to_their_function_and_tests_are_skipped() {
        let text = r#"
use x;
/// Calls `.put_item()` in a doc comment: not a call.
pub async fn claim(&self) {
    self.client
        .put_item()
        .send();
    let s = "helper() in a string is no use";
}
fn complete<T>(t: T) {
    let put = Put::builder().table_name("t");
    client.update_item().send();
    items.map(Record::from_item);
}
#[cfg(test)]
mod tests {
    fn fake() {
        client.delete_item();
        let s = "{";
        let t = "}";
    }
}
"#;
        let functions = scan("dedup.rs", text);
        let found: Vec<(&str, &str)> = functions
            .iter()
            .flat_map(|f| &f.calls)
            .map(|c| (c.function.as_str(), c.action))
            .collect();
        assert_eq!(
            found,
            [
                ("claim", "dynamodb:PutItem"),
                ("complete", "dynamodb:PutItem"),
                ("complete", "dynamodb:UpdateItem"),
            ]
        );
        let claim = functions.iter().find(|f| f.name == "claim").expect("claim");
        assert!(claim.uses.contains("put_item") && !claim.uses.contains("helper"));
        let complete = functions
            .iter()
            .find(|f| f.name == "complete")
            .expect("complete");
        assert!(complete.uses.contains("from_item") && complete.uses.contains("builder"));
        assert!(functions.iter().all(|f| f.name != "fake"));
    }

    #[test]
    fn reachability_follows_names_and_stops_at_excluded_files() {
        let mut index = CodeIndex::default();
        index.functions.extend(scan(
            "a.rs",
            "fn start() { middle(); }\nfn middle() { x.get_item(); other::end(); }",
        ));
        index.functions.extend(scan(
            "b.rs",
            "fn end() { q.send_message(); }\nfn unused() { q.delete_item(); }",
        ));
        let roots = BTreeSet::from(["start".to_string()]);
        let names = |fs: Vec<&FnInfo>| fs.iter().map(|f| f.name.clone()).collect::<Vec<_>>();
        assert_eq!(
            names(index.reachable(&roots, |_| false)),
            ["start", "middle", "end"]
        );
        assert_eq!(
            names(index.reachable(&roots, |f| f == "b.rs")),
            ["start", "middle"]
        );
    }

    #[test]
    fn list_lines_parse_and_bad_sites_are_refused() {
        let dir = std::env::temp_dir().join(format!("iam-list-{}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("temp dir");
        let path = dir.join("iam-actions.txt");
        std::fs::write(
            &path,
            "# comment\ndynamodb:PutItem DedupTable dedup.rs::claim mirror/commit.rs::commit\n\
             logs:PutLogEvents ContactLogGroup lambda # trailing comment\n",
        )
        .expect("write");
        let list = read_list(&path).expect("parses");
        assert_eq!(list.len(), 2);
        assert_eq!(list[0].grant.resource, "DedupTable");
        assert_eq!(
            list[0].sites[1],
            Site::Code {
                file: "mirror/commit.rs".into(),
                function: "commit".into()
            }
        );
        assert_eq!(list[1].sites, [Site::Lambda]);
        std::fs::write(&path, "dynamodb:PutItem DedupTable somewhere\n").expect("write");
        assert!(matches!(read_list(&path), Err(ListError::BadSite { .. })));
        std::fs::write(&path, "dynamodb:PutItem DedupTable\n").expect("write");
        assert!(matches!(read_list(&path), Err(ListError::Malformed { .. })));
        std::fs::write(
            &path,
            "-dynamodb:PutItem ContactsTable mirror/write.rs::write\n",
        )
        .expect("write");
        assert!(matches!(
            read_list(&path),
            Err(ListError::UnexplainedExclusion { .. })
        ));
        std::fs::write(
            &path,
            "-dynamodb:PutItem ContactsTable mirror/write.rs::write # never for consent\n",
        )
        .expect("write");
        let list = read_list(&path).expect("parses");
        assert!(!list[0].granted && list[0].grant.action == "dynamodb:PutItem");
        std::fs::remove_dir_all(&dir).ok();
    }
}
