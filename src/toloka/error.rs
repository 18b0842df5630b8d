//! Toloka's error body and the validation errors that become its `VALIDATION_ERROR` form
//! (`specs/toloka-api.md` §3.4, §7 E7–E8).

use std::time::Duration;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value, json};

use super::string_enum::open_string_enum;

open_string_enum! {
    /// The `code` of an error body. toloka-kit picks its exception by this code, not by the
    /// HTTP status.
    pub enum ErrorCode {
        ValidationError = "VALIDATION_ERROR",
        AuthenticationError = "AUTHENTICATION_ERROR",
        AccessDenied = "ACCESS_DENIED",
        DoesNotExist = "DOES_NOT_EXIST",
        ConflictState = "CONFLICT_STATE",
        TooManyRequests = "TOO_MANY_REQUESTS",
        InternalError = "INTERNAL_ERROR",
        RemoteServiceUnavailable = "REMOTE_SERVICE_UNAVAILABLE",
        AssignmentsAggregationDenied = "ASSIGNMENTS_AGGREGATION_DENIED",
        EmptyPool = "EMPTY_POOL",
        PoolInappropriateStatus = "POOL_INAPPROPRIATE_STATUS",
        InappropriateStatus = "INAPPROPRIATE_STATUS",
        ResultsExpired = "RESULTS_EXPIRED",
        UnsupportedAlgorithm = "UNSUPPORTED_ALGORITHM",
        OperationAlreadyExists = "OPERATION_ALREADY_EXISTS",
        OperationExecutionError = "OPERATION_EXECUTION_ERROR",
        /// WDO on a pool whose tasks were not uploaded with smart mixing.
        OnlyForPoolWithMixer = "ONLY_FOR_POOL_WITH_MIXER",
    }
}

impl ErrorCode {
    /// The HTTP status Toloka usually sends with this code; `None` when undocumented.
    pub fn typical_status(&self) -> Option<u16> {
        Some(match self {
            Self::ValidationError => 400,
            Self::AuthenticationError => 401,
            Self::AccessDenied => 403,
            Self::DoesNotExist => 404,
            Self::TooManyRequests => 429,
            Self::InternalError => 500,
            Self::RemoteServiceUnavailable => 503,
            Self::ConflictState
            | Self::AssignmentsAggregationDenied
            | Self::EmptyPool
            | Self::PoolInappropriateStatus
            | Self::InappropriateStatus
            | Self::ResultsExpired
            | Self::UnsupportedAlgorithm
            | Self::OperationAlreadyExists
            | Self::OperationExecutionError
            | Self::OnlyForPoolWithMixer => 409,
            Self::Other(_) => return None,
        })
    }
}

/// The JSON body of every non-2xx answer:
/// `{"request_id", "code", "message", "payload"?}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, thiserror::Error)]
#[error("Toloka error {code}: {message}")]
pub struct ApiError {
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    pub code: ErrorCode,
    #[serde(default)]
    pub message: String,
    /// Code-specific detail: for `VALIDATION_ERROR` a map from field name to
    /// `{code, message, params?}`; for `TOO_MANY_REQUESTS` possibly `{"interval": "MIN"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

impl ApiError {
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        Self {
            request_id: None,
            code: code.into(),
            message: message.into(),
            payload: None,
        }
    }

    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    pub fn with_payload(mut self, payload: Value) -> Self {
        self.payload = Some(payload);
        self
    }

    /// The fields a `VALIDATION_ERROR` complains about (the payload's keys), like toloka-kit's
    /// `invalid_fields`; empty for other codes.
    pub fn invalid_fields(&self) -> Vec<&str> {
        match (&self.code, &self.payload) {
            (ErrorCode::ValidationError, Some(Value::Object(fields))) => {
                fields.keys().map(String::as_str).collect()
            }
            _ => Vec::new(),
        }
    }

    /// The quota wait a `TOO_MANY_REQUESTS` body asks for through `payload.interval`
    /// (`MIN`, `HOUR`, `DAY`).
    pub fn quota_interval(&self) -> Option<Duration> {
        if self.code != ErrorCode::TooManyRequests {
            return None;
        }
        let seconds = match self.payload.as_ref()?.get("interval")?.as_str()? {
            "MIN" => 60,
            "HOUR" => 3_600,
            "DAY" => 86_400,
            _ => return None,
        };
        Some(Duration::from_secs(seconds))
    }
}

open_string_enum! {
    /// The `code` of one field inside a `VALIDATION_ERROR` payload (toloka-kit's
    /// `ValidationErrorCodes`).
    pub enum ValidationCode {
        ArrayExpected = "ARRAY_EXPECTED",
        ArraySizeGreaterThanMax = "ARRAY_SIZE_GREATER_THAN_MAX",
        ArraySizeLessThanMin = "ARRAY_SIZE_LESS_THAN_MIN",
        ArraySizeOutOfBounds = "ARRAY_SIZE_OUT_OF_BOUNDS",
        BlankStringNotAllowed = "BLANK_STRING_NOT_ALLOWED",
        BooleanExpected = "BOOLEAN_EXPECTED",
        CharacterNotAllowed = "CHARACTER_NOT_ALLOWED",
        DateOutOfRange = "DATE_OUT_OF_RANGE",
        DuplicateValueInArray = "DUPLICATE_VALUE_IN_ARRAY",
        EmptyObjectNotAllowed = "EMPTY_OBJECT_NOT_ALLOWED",
        EntityAccessDenied = "ENTITY_ACCESS_DENIED",
        EntityDoesNotExist = "ENTITY_DOES_NOT_EXIST",
        FloatExpected = "FLOAT_EXPECTED",
        IntegerExpected = "INTEGER_EXPECTED",
        InvalidCoordinatesSyntax = "INVALID_COORDINATES_SYNTAX",
        InvalidDateSyntax = "INVALID_DATE_SYNTAX",
        InvalidDateTimeSyntax = "INVALID_DATE_TIME_SYNTAX",
        InvalidRegexSyntax = "INVALID_REGEX_SYNTAX",
        InvalidUrlSyntax = "INVALID_URL_SYNTAX",
        InvalidValue = "INVALID_VALUE",
        JsonExpected = "JSON_EXPECTED",
        MaxOnePropertyAllowed = "MAX_ONE_PROPERTY_ALLOWED",
        NameLengthLessThanMin = "NAME_LENGTH_LESS_THAN_MIN",
        NotNullBody = "NOT_NULL_BODY",
        ObjectExpected = "OBJECT_EXPECTED",
        ObjectSizeBytesGreaterThanMax = "OBJECT_SIZE_BYTES_GREATER_THAN_MAX",
        PatternMismatch = "PATTERN_MISMATCH",
        SimpleValueExpected = "SIMPLE_VALUE_EXPECTED",
        StringExpected = "STRING_EXPECTED",
        StringLengthGreaterThanMax = "STRING_LENGTH_GREATER_THAN_MAX",
        StringLengthLessThanMin = "STRING_LENGTH_LESS_THAN_MIN",
        StringLengthOutOfBounds = "STRING_LENGTH_OUT_OF_BOUNDS",
        UnknownEnumValue = "UNKNOWN_ENUM_VALUE",
        UuidExpected = "UUID_EXPECTED",
        ValuesRequired = "VALUES_REQUIRED",
        ValueGreaterThanMax = "VALUE_GREATER_THAN_MAX",
        ValueLessThanMin = "VALUE_LESS_THAN_MIN",
        ValueNotAllowed = "VALUE_NOT_ALLOWED",
        ValueOutOfBounds = "VALUE_OUT_OF_BOUNDS",
        ValueRequired = "VALUE_REQUIRED",
    }
}

/// The JSON type a field should have had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JsonType {
    String,
    Integer,
    Array,
    Object,
}

/// One invalid field of a request. `field` is the JSON key, or a path such as `fields[1].name`
/// for nested values, or `""` for the body itself.
///
/// The codes are toloka-kit's `ValidationErrorCodes`; the message wording is ours (Toloka's
/// exact wording is not documented, `specs/toloka-api.md` §7 E7).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidField {
    #[error("{field}: Value must be present and not equal to null")]
    Required { field: String },
    #[error("{field}: Value must not be blank")]
    BlankString { field: String },
    #[error("{field}: Value must be {}", expected_phrase(*.expected))]
    WrongType { field: String, expected: JsonType },
    #[error("{field}: Unknown value {value:?}, expected one of: {}", .allowed.join(", "))]
    UnknownEnumValue {
        field: String,
        value: String,
        allowed: &'static [&'static str],
    },
    #[error("{field}: Array size must be at least {min}, got {actual}")]
    TooFewItems {
        field: String,
        min: usize,
        actual: usize,
    },
    #[error("{field}: Array size must be at most {max}, got {actual}")]
    TooManyItems {
        field: String,
        max: usize,
        actual: usize,
    },
    #[error("{field}: Value must be at least {min}, got {actual}")]
    ValueTooSmall {
        field: String,
        min: i64,
        actual: i64,
    },
    #[error("{field}: Value must be at most {max}, got {actual}")]
    ValueTooLarge {
        field: String,
        max: i64,
        actual: i64,
    },
}

fn expected_phrase(expected: JsonType) -> &'static str {
    match expected {
        JsonType::String => "a string",
        JsonType::Integer => "an integer",
        JsonType::Array => "an array",
        JsonType::Object => "an object",
    }
}

impl InvalidField {
    pub fn field(&self) -> &str {
        match self {
            Self::Required { field }
            | Self::BlankString { field }
            | Self::WrongType { field, .. }
            | Self::UnknownEnumValue { field, .. }
            | Self::TooFewItems { field, .. }
            | Self::TooManyItems { field, .. }
            | Self::ValueTooSmall { field, .. }
            | Self::ValueTooLarge { field, .. } => field,
        }
    }

    pub fn code(&self) -> ValidationCode {
        match self {
            Self::Required { .. } => ValidationCode::ValueRequired,
            Self::BlankString { .. } => ValidationCode::BlankStringNotAllowed,
            Self::WrongType { expected, .. } => match expected {
                JsonType::String => ValidationCode::StringExpected,
                JsonType::Integer => ValidationCode::IntegerExpected,
                JsonType::Array => ValidationCode::ArrayExpected,
                JsonType::Object => ValidationCode::ObjectExpected,
            },
            Self::UnknownEnumValue { .. } => ValidationCode::UnknownEnumValue,
            Self::TooFewItems { .. } => ValidationCode::ArraySizeLessThanMin,
            Self::TooManyItems { .. } => ValidationCode::ArraySizeGreaterThanMax,
            Self::ValueTooSmall { .. } => ValidationCode::ValueLessThanMin,
            Self::ValueTooLarge { .. } => ValidationCode::ValueGreaterThanMax,
        }
    }

    /// The human-readable part of the message, without the field name.
    pub fn message(&self) -> String {
        let full = self.to_string();
        let prefix_len = self.field().len() + 2;
        full.get(prefix_len..).unwrap_or(&full).to_owned()
    }

    /// Machine-readable limits, as in Toloka's `params`.
    pub fn params(&self) -> Option<Value> {
        match self {
            Self::Required { .. } | Self::BlankString { .. } | Self::WrongType { .. } => None,
            Self::UnknownEnumValue { allowed, .. } => Some(json!({ "allowed_values": allowed })),
            Self::TooFewItems { min, .. } => Some(json!({ "min": min })),
            Self::TooManyItems { max, .. } => Some(json!({ "max": max })),
            Self::ValueTooSmall { min, .. } => Some(json!({ "min": min })),
            Self::ValueTooLarge { max, .. } => Some(json!({ "max": max })),
        }
    }

    /// `{"code", "message", "params"?}`, the value of this field in the payload.
    pub fn to_payload_entry(&self) -> Value {
        let mut entry = Map::new();
        entry.insert("code".into(), Value::String(self.code().as_str().into()));
        entry.insert("message".into(), Value::String(self.message()));
        if let Some(params) = self.params() {
            entry.insert("params".into(), params);
        }
        Value::Object(entry)
    }
}

/// A request failed validation; holds every invalid field found, in request order.
/// Becomes a 400 `VALIDATION_ERROR` body through [`ValidationError::to_api_error`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("Validation failed: {}", join_fields(.fields))]
pub struct ValidationError {
    pub fields: Vec<InvalidField>,
}

fn join_fields(fields: &[InvalidField]) -> String {
    let texts: Vec<String> = fields.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

impl ValidationError {
    /// The `message` of the API error body.
    pub const MESSAGE: &'static str = "Validation failed";

    pub fn new(fields: Vec<InvalidField>) -> Self {
        Self { fields }
    }

    /// `Ok(())` when `fields` is empty.
    pub fn check(fields: Vec<InvalidField>) -> Result<(), Self> {
        if fields.is_empty() {
            Ok(())
        } else {
            Err(Self { fields })
        }
    }

    /// Map from field to `{code, message, params?}`; the first problem of a field wins.
    pub fn payload(&self) -> Value {
        let mut payload = Map::new();
        for field in &self.fields {
            if !payload.contains_key(field.field()) {
                payload.insert(field.field().to_owned(), field.to_payload_entry());
            }
        }
        Value::Object(payload)
    }

    pub fn to_api_error(&self) -> ApiError {
        ApiError::new(ErrorCode::ValidationError, Self::MESSAGE).with_payload(self.payload())
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        error.to_api_error()
    }
}
