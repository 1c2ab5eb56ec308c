//! The template as CloudFormation reads it: YAML whose short-form tags (`!Ref X`,
//! `!GetAtt A.B`, `!Sub "..."`, `!If [...]`, ...) become their long JSON form (`{"Ref": "X"}`,
//! `{"Fn::GetAtt": ["A", "B"]}`, ...), plus an evaluator of the intrinsic functions for given
//! parameter values (conditions, `Fn::Sub` bodies, `Fn::Join`/`Fn::Split`).

use saphyr::{LoadableYamlNode, Scalar, Yaml};
use serde_json::{Map, Value};
use std::collections::HashMap;
use std::path::Path;

#[derive(Debug, thiserror::Error)]
pub enum TemplateError {
    #[error("cannot read {path}: {source}")]
    Read {
        path: String,
        source: std::io::Error,
    },
    #[error("not valid YAML: {0}")]
    Yaml(String),
    #[error("expected one YAML document, found {0}")]
    Documents(usize),
    #[error("unsupported YAML node: {0}")]
    Unsupported(String),
    #[error("unknown tag {0}")]
    UnknownTag(String),
}

/// Short-form tags and the long-form keys they stand for.
const TAGS: &[(&str, &str)] = &[
    ("Ref", "Ref"),
    ("Condition", "Condition"),
    ("GetAtt", "Fn::GetAtt"),
    ("Sub", "Fn::Sub"),
    ("If", "Fn::If"),
    ("Equals", "Fn::Equals"),
    ("Not", "Fn::Not"),
    ("And", "Fn::And"),
    ("Or", "Fn::Or"),
    ("Join", "Fn::Join"),
    ("Split", "Fn::Split"),
    ("Select", "Fn::Select"),
    ("FindInMap", "Fn::FindInMap"),
    ("Base64", "Fn::Base64"),
    ("GetAZs", "Fn::GetAZs"),
    ("ImportValue", "Fn::ImportValue"),
    ("Cidr", "Fn::Cidr"),
    ("Length", "Fn::Length"),
    ("ToJsonString", "Fn::ToJsonString"),
];

/// Reads and converts a template file.
pub fn load(path: &Path) -> Result<Value, TemplateError> {
    let text = std::fs::read_to_string(path).map_err(|source| TemplateError::Read {
        path: path.display().to_string(),
        source,
    })?;
    parse(&text)
}

/// Converts template text (one YAML document) to CloudFormation's JSON form.
pub fn parse(text: &str) -> Result<Value, TemplateError> {
    let docs = Yaml::load_from_str(text).map_err(|e| TemplateError::Yaml(e.to_string()))?;
    match docs.as_slice() {
        [doc] => to_json(doc),
        other => Err(TemplateError::Documents(other.len())),
    }
}

fn to_json(node: &Yaml<'_>) -> Result<Value, TemplateError> {
    Ok(match node {
        Yaml::Value(scalar) => scalar_json(scalar),
        Yaml::Sequence(items) => Value::Array(items.iter().map(to_json).collect::<Result<_, _>>()?),
        Yaml::Mapping(entries) => {
            let mut out = Map::new();
            for (key, value) in entries {
                let key = match key {
                    Yaml::Value(Scalar::String(s)) => s.to_string(),
                    Yaml::Value(Scalar::Integer(i)) => i.to_string(),
                    Yaml::Value(Scalar::Boolean(b)) => b.to_string(),
                    other => return Err(TemplateError::Unsupported(format!("key {other:?}"))),
                };
                out.insert(key, to_json(value)?);
            }
            Value::Object(out)
        }
        Yaml::Tagged(tag, inner) => {
            let inner = to_json(inner)?;
            if tag.handle != "!" {
                // A core-schema tag (`!!str`): the value itself.
                return Ok(inner);
            }
            let Some((_, key)) = TAGS.iter().find(|(short, _)| *short == tag.suffix) else {
                return Err(TemplateError::UnknownTag(format!("!{}", tag.suffix)));
            };
            let value = match (*key, inner) {
                // `!GetAtt Resource.Attribute` is the string form of `[Resource, Attribute]`.
                ("Fn::GetAtt", Value::String(s)) => match s.split_once('.') {
                    Some((resource, attribute)) => Value::Array(vec![
                        Value::String(resource.into()),
                        Value::String(attribute.into()),
                    ]),
                    None => Value::String(s),
                },
                (_, other) => other,
            };
            let mut out = Map::new();
            out.insert((*key).to_string(), value);
            Value::Object(out)
        }
        other => return Err(TemplateError::Unsupported(format!("{other:?}"))),
    })
}

fn scalar_json(scalar: &Scalar<'_>) -> Value {
    match scalar {
        Scalar::Null => Value::Null,
        Scalar::Boolean(b) => Value::Bool(*b),
        Scalar::Integer(i) => Value::from(*i),
        Scalar::FloatingPoint(f) => Value::from(f.into_inner()),
        Scalar::String(s) => Value::String(s.to_string()),
    }
}

/// `{"Ref": "X"}` -> `X`.
pub fn ref_target(value: &Value) -> Option<&str> {
    value.get("Ref")?.as_str()
}

/// `{"Fn::GetAtt": ["X", "Attr"]}` -> `(X, Attr)`.
pub fn get_att(value: &Value) -> Option<(&str, &str)> {
    match value.get("Fn::GetAtt")?.as_array()?.as_slice() {
        [resource, attribute] => Some((resource.as_str()?, attribute.as_str()?)),
        _ => None,
    }
}

#[derive(Debug, thiserror::Error, PartialEq)]
pub enum EvalError {
    #[error("unknown reference {0}")]
    UnknownReference(String),
    #[error("{0} refers to resource {1}, whose condition is false for these parameters")]
    AbsentResource(String, String),
    #[error("unknown condition {0}")]
    UnknownCondition(String),
    #[error("cannot evaluate {0}")]
    Unsupported(String),
}

/// Evaluates intrinsic functions for one set of parameter values. Resources evaluate to
/// placeholders (`<Id>` for a `Ref`, `<Id.Attr>` for a `GetAtt`); referring to a resource whose
/// condition is false is an error, as it is for CloudFormation.
pub struct Evaluator<'t> {
    template: &'t Value,
    parameters: HashMap<String, String>,
}

/// What stands for `AWS::NoValue` in evaluated lists and properties (removed by CloudFormation).
pub const NO_VALUE: &str = "<AWS::NoValue>";

impl<'t> Evaluator<'t> {
    /// Parameters take their `Default` unless given in `overrides`.
    pub fn new(template: &'t Value, overrides: &[(&str, &str)]) -> Self {
        let mut parameters = HashMap::new();
        if let Some(params) = template.get("Parameters").and_then(Value::as_object) {
            for (name, spec) in params {
                let default = match spec.get("Default") {
                    Some(Value::String(s)) => s.clone(),
                    Some(Value::Null) | None => String::new(),
                    Some(other) => other.to_string(),
                };
                parameters.insert(name.clone(), default);
            }
        }
        for (name, value) in overrides {
            parameters.insert((*name).to_string(), (*value).to_string());
        }
        Evaluator {
            template,
            parameters,
        }
    }

    /// The value of a named condition.
    pub fn condition(&self, name: &str) -> Result<bool, EvalError> {
        let expr = self
            .template
            .get("Conditions")
            .and_then(|c| c.get(name))
            .ok_or_else(|| EvalError::UnknownCondition(name.into()))?;
        self.truth(expr)
    }

    /// Whether a resource exists for these parameters (its `Condition`, if any, holds).
    pub fn exists(&self, resource: &str) -> Result<bool, EvalError> {
        let spec = self
            .template
            .get("Resources")
            .and_then(|r| r.get(resource))
            .ok_or_else(|| EvalError::UnknownReference(resource.into()))?;
        match spec.get("Condition").and_then(Value::as_str) {
            Some(condition) => self.condition(condition),
            None => Ok(true),
        }
    }

    fn truth(&self, expr: &Value) -> Result<bool, EvalError> {
        match self.eval(expr)? {
            Value::Bool(b) => Ok(b),
            other => Err(EvalError::Unsupported(format!("condition value {other}"))),
        }
    }

    /// Evaluates an expression to plain JSON (strings, lists, booleans).
    pub fn eval(&self, expr: &Value) -> Result<Value, EvalError> {
        let Value::Object(map) = expr else {
            return Ok(match expr {
                Value::Array(items) => Value::Array(
                    items
                        .iter()
                        .map(|item| self.eval(item))
                        .collect::<Result<_, _>>()?,
                ),
                other => other.clone(),
            });
        };
        let (Some((key, arg)), 1) = (map.iter().next(), map.len()) else {
            return Err(EvalError::Unsupported(expr.to_string()));
        };
        let args = |n: usize| -> Result<&Vec<Value>, EvalError> {
            arg.as_array()
                .filter(|a| a.len() == n)
                .ok_or_else(|| EvalError::Unsupported(expr.to_string()))
        };
        match key.as_str() {
            "Ref" => self.reference(arg.as_str().unwrap_or_default(), None),
            "Fn::GetAtt" => match get_att(expr) {
                Some((resource, attribute)) => self.reference(resource, Some(attribute)),
                None => Err(EvalError::Unsupported(expr.to_string())),
            },
            "Condition" => Ok(Value::Bool(
                self.condition(arg.as_str().unwrap_or_default())?,
            )),
            "Fn::Not" => Ok(Value::Bool(!self.truth(&args(1)?[0])?)),
            "Fn::And" | "Fn::Or" => {
                let values = arg
                    .as_array()
                    .ok_or_else(|| EvalError::Unsupported(expr.to_string()))?
                    .iter()
                    .map(|v| self.truth(v))
                    .collect::<Result<Vec<_>, _>>()?;
                Ok(Value::Bool(if key == "Fn::And" {
                    values.iter().all(|v| *v)
                } else {
                    values.iter().any(|v| *v)
                }))
            }
            "Fn::Equals" => {
                let a = args(2)?;
                Ok(Value::Bool(
                    scalar_text(&self.eval(&a[0])?) == scalar_text(&self.eval(&a[1])?),
                ))
            }
            "Fn::If" => {
                let a = args(3)?;
                let condition = a[0]
                    .as_str()
                    .ok_or_else(|| EvalError::Unsupported(expr.to_string()))?;
                if self.condition(condition)? {
                    self.eval(&a[1])
                } else {
                    self.eval(&a[2])
                }
            }
            "Fn::Join" => {
                let a = args(2)?;
                let separator = scalar_text(&self.eval(&a[0])?);
                let Value::Array(items) = self.eval(&a[1])? else {
                    return Err(EvalError::Unsupported(expr.to_string()));
                };
                Ok(Value::String(
                    items
                        .iter()
                        .filter(|v| v.as_str() != Some(NO_VALUE))
                        .map(scalar_text)
                        .collect::<Vec<_>>()
                        .join(&separator),
                ))
            }
            "Fn::Split" => {
                let a = args(2)?;
                let separator = scalar_text(&self.eval(&a[0])?);
                let text = scalar_text(&self.eval(&a[1])?);
                Ok(Value::Array(
                    text.split(separator.as_str())
                        .map(|s| Value::String(s.into()))
                        .collect(),
                ))
            }
            "Fn::Select" => {
                let a = args(2)?;
                let index: usize = scalar_text(&self.eval(&a[0])?)
                    .parse()
                    .map_err(|_| EvalError::Unsupported(expr.to_string()))?;
                match self.eval(&a[1])? {
                    Value::Array(items) => items
                        .get(index)
                        .cloned()
                        .ok_or_else(|| EvalError::Unsupported(expr.to_string())),
                    _ => Err(EvalError::Unsupported(expr.to_string())),
                }
            }
            "Fn::FindInMap" => {
                let a = args(3)?;
                let keys = a
                    .iter()
                    .map(|k| self.eval(k).map(|v| scalar_text(&v)))
                    .collect::<Result<Vec<_>, _>>()?;
                self.template
                    .get("Mappings")
                    .and_then(|m| m.get(&keys[0]))
                    .and_then(|m| m.get(&keys[1]))
                    .and_then(|m| m.get(&keys[2]))
                    .cloned()
                    .ok_or_else(|| EvalError::UnknownReference(keys.join(".")))
            }
            "Fn::Sub" => {
                let (body, vars) = match arg {
                    Value::String(body) => (body.as_str(), Map::new()),
                    Value::Array(parts) => match parts.as_slice() {
                        [Value::String(body), Value::Object(vars)] => (body.as_str(), vars.clone()),
                        _ => return Err(EvalError::Unsupported(expr.to_string())),
                    },
                    _ => return Err(EvalError::Unsupported(expr.to_string())),
                };
                let mut values = HashMap::new();
                for (name, value) in &vars {
                    values.insert(name.clone(), scalar_text(&self.eval(value)?));
                }
                self.substitute(body, &values).map(Value::String)
            }
            _ => Err(EvalError::Unsupported(expr.to_string())),
        }
    }

    /// `${Name}`, `${Resource.Attr}`, `${AWS::Pseudo}` and `${!Literal}` in a `Fn::Sub` body.
    fn substitute(&self, body: &str, vars: &HashMap<String, String>) -> Result<String, EvalError> {
        let mut out = String::with_capacity(body.len());
        let mut rest = body;
        while let Some(start) = rest.find("${") {
            out.push_str(&rest[..start]);
            let after = &rest[start + 2..];
            let Some(end) = after.find('}') else {
                return Err(EvalError::Unsupported(format!("unclosed ${{ in {body}")));
            };
            let name = &after[..end];
            if let Some(literal) = name.strip_prefix('!') {
                out.push_str("${");
                out.push_str(literal);
                out.push('}');
            } else if let Some(value) = vars.get(name) {
                out.push_str(value);
            } else {
                let value = match name.split_once('.') {
                    Some((resource, attribute)) => self.reference(resource, Some(attribute))?,
                    None => self.reference(name, None)?,
                };
                out.push_str(&scalar_text(&value));
            }
            rest = &after[end + 1..];
        }
        out.push_str(rest);
        Ok(out)
    }

    fn reference(&self, name: &str, attribute: Option<&str>) -> Result<Value, EvalError> {
        let pseudo = match name {
            "AWS::StackName" => Some("engage-webhooks"),
            "AWS::Region" => Some("eu-north-1"),
            "AWS::AccountId" => Some("123456789012"),
            "AWS::Partition" => Some("aws"),
            "AWS::URLSuffix" => Some("amazonaws.com"),
            "AWS::NoValue" => Some(NO_VALUE),
            _ => None,
        };
        if let Some(value) = pseudo {
            return Ok(Value::String(value.into()));
        }
        if attribute.is_none() {
            if let Some(value) = self.parameters.get(name) {
                return Ok(Value::String(value.clone()));
            }
        }
        // A declared resource answers for itself (its condition), even where SAM could have
        // generated one of the same name.
        let declared = self
            .template
            .get("Resources")
            .and_then(|r| r.get(name))
            .is_some();
        if !declared && !self.is_generated(name) {
            return Err(EvalError::UnknownReference(name.into()));
        }
        if !declared || self.exists(name)? {
            Ok(Value::String(match attribute {
                Some(attribute) => format!("<{name}.{attribute}>"),
                None => format!("<{name}>"),
            }))
        } else {
            Err(EvalError::AbsentResource(
                attribute.map_or(name.to_string(), |a| format!("{name}.{a}")),
                name.into(),
            ))
        }
    }

    /// Resources SAM generates from a function (`<Function>Url`, `<Function>Role`).
    fn is_generated(&self, name: &str) -> bool {
        let resources = self.template.get("Resources");
        ["Url", "Role"].iter().any(|suffix| {
            name.strip_suffix(suffix)
                .and_then(|function| resources?.get(function)?.get("Type")?.as_str())
                == Some("AWS::Serverless::Function")
        })
    }
}

/// A scalar as CloudFormation compares and joins it: strings as they are, numbers and
/// booleans as their text.
pub fn scalar_text(value: &Value) -> String {
    match value {
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}
