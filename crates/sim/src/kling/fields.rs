//! Typed access to a JSON request body with Kling-style rejections that name the field.

use serde_json::{Map, Value};

use super::envelope::KlingError;

/// spec/kling-api.md, common rules: prompts and negative prompts ≤ 2500 characters.
pub(crate) const MAX_PROMPT_CHARS: usize = 2500;

/// A JSON object body of one endpoint.
pub(crate) struct Body<'a> {
    map: &'a Map<String, Value>,
    /// `what.` prefix for nested objects (`face_choose[0].`), empty at the top.
    prefix: String,
}

fn type_name(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Short rendering of a value for error messages.
pub(crate) fn show(v: &Value) -> String {
    let s = v.to_string();
    if s.chars().count() > 60 {
        format!("{}…", s.chars().take(60).collect::<String>())
    } else {
        s
    }
}

impl<'a> Body<'a> {
    /// The body as an object; anything else is 1200.
    pub fn parse(value: &'a Value) -> Result<Body<'a>, KlingError> {
        match value {
            Value::Object(map) => Ok(Body {
                map,
                prefix: String::new(),
            }),
            other => Err(KlingError::invalid_request(format!(
                "request body must be a JSON object, got {}",
                type_name(other)
            ))),
        }
    }

    /// A nested object found at `name` (already prefixed by the caller's path).
    pub fn nested(value: &'a Value, path: &str) -> Result<Body<'a>, KlingError> {
        match value {
            Value::Object(map) => Ok(Body {
                map,
                prefix: format!("{path}."),
            }),
            other => Err(KlingError::invalid_param(format!(
                "{path} must be an object, got {}",
                type_name(other)
            ))),
        }
    }

    /// The full name of a field for messages.
    pub fn name(&self, field: &str) -> String {
        format!("{}{field}", self.prefix)
    }

    /// Rejects any field not in `allowed` (when `strict`).
    pub fn only(&self, allowed: &[&str], strict: bool, endpoint: &str) -> Result<(), KlingError> {
        if !strict {
            return Ok(());
        }
        if let Some(k) = self.map.keys().find(|k| !allowed.contains(&k.as_str())) {
            return Err(KlingError::invalid_param(format!(
                "unknown field {} for {endpoint}; allowed fields: {}",
                self.name(k),
                allowed.join(", ")
            )));
        }
        Ok(())
    }

    /// The raw value; JSON `null` counts as absent.
    pub fn get(&self, field: &str) -> Option<&'a Value> {
        self.map.get(field).filter(|v| !v.is_null())
    }

    pub fn has(&self, field: &str) -> bool {
        self.get(field).is_some()
    }

    fn wrong_type(&self, field: &str, want: &str, got: &Value) -> KlingError {
        KlingError::invalid_param(format!(
            "{} must be {want}, got {} {}",
            self.name(field),
            type_name(got),
            show(got)
        ))
    }

    pub fn opt_str(&self, field: &str) -> Result<Option<&'a str>, KlingError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s.as_str())),
            Some(v) => Err(self.wrong_type(field, "a string", v)),
        }
    }

    /// A required, non-empty string.
    pub fn req_str(&self, field: &str) -> Result<&'a str, KlingError> {
        match self.opt_str(field)? {
            Some(s) if !s.trim().is_empty() => Ok(s),
            Some(_) => Err(KlingError::invalid_param(format!(
                "{} must not be empty",
                self.name(field)
            ))),
            None => Err(KlingError::invalid_param(format!(
                "{} is required",
                self.name(field)
            ))),
        }
    }

    /// A string from a fixed set, with a default when absent.
    pub fn enum_str(
        &self,
        field: &str,
        allowed: &[&str],
        default: Option<&'static str>,
    ) -> Result<Option<String>, KlingError> {
        match self.opt_str(field)? {
            None => Ok(default.map(str::to_string)),
            Some(s) if allowed.contains(&s) => Ok(Some(s.to_string())),
            Some(s) => Err(KlingError::invalid_param(format!(
                "{} {s:?} is not allowed; allowed values: {}",
                self.name(field),
                allowed.join(", ")
            ))),
        }
    }

    /// A number in `[lo, hi]`.
    pub fn opt_f64_in(&self, field: &str, lo: f64, hi: f64) -> Result<Option<f64>, KlingError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => {
                let x = n.as_f64().unwrap_or(f64::NAN);
                if (lo..=hi).contains(&x) {
                    Ok(Some(x))
                } else {
                    Err(KlingError::invalid_param(format!(
                        "{} = {n} is out of range; allowed: [{lo}, {hi}]",
                        self.name(field)
                    )))
                }
            }
            Some(v) => Err(self.wrong_type(field, "a number", v)),
        }
    }

    /// An integer (JSON number without fraction).
    pub fn opt_i64(&self, field: &str) -> Result<Option<i64>, KlingError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Number(n)) => match n.as_i64() {
                Some(i) => Ok(Some(i)),
                None => Err(KlingError::invalid_param(format!(
                    "{} must be an integer, got {n}",
                    self.name(field)
                ))),
            },
            Some(v) => Err(self.wrong_type(field, "an integer", v)),
        }
    }

    pub fn req_i64(&self, field: &str) -> Result<i64, KlingError> {
        self.opt_i64(field)?
            .ok_or_else(|| KlingError::invalid_param(format!("{} is required", self.name(field))))
    }

    /// A JSON boolean (a string `"true"` is refused, as the real API's typed fields do).
    pub fn opt_bool(&self, field: &str) -> Result<Option<bool>, KlingError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Bool(b)) => Ok(Some(*b)),
            Some(v) => Err(self.wrong_type(field, "a boolean", v)),
        }
    }

    pub fn opt_array(&self, field: &str) -> Result<Option<&'a Vec<Value>>, KlingError> {
        match self.get(field) {
            None => Ok(None),
            Some(Value::Array(a)) => Ok(Some(a)),
            Some(v) => Err(self.wrong_type(field, "an array", v)),
        }
    }

    /// A prompt-like string of at most 2500 characters.
    pub fn prompt(&self, field: &str, required: bool) -> Result<Option<&'a str>, KlingError> {
        let s = if required {
            Some(self.req_str(field)?)
        } else {
            self.opt_str(field)?
        };
        if let Some(s) = s {
            let n = s.chars().count();
            if n > MAX_PROMPT_CHARS {
                return Err(KlingError::invalid_param(format!(
                    "{} is {n} characters long; at most {MAX_PROMPT_CHARS} are allowed",
                    self.name(field)
                )));
            }
        }
        Ok(s)
    }
}
