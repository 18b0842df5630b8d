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
        /// The request failed validation; `payload` maps each invalid field to its problem (HTTP 400).
        ValidationError = "VALIDATION_ERROR",
        /// No credentials, or credentials the service does not accept (HTTP 401).
        AuthenticationError = "AUTHENTICATION_ERROR",
        /// The credentials are valid but grant no access to the object (HTTP 403).
        AccessDenied = "ACCESS_DENIED",
        /// The pool, operation or results asked for do not exist (HTTP 404).
        DoesNotExist = "DOES_NOT_EXIST",
        /// The object's state does not allow the action (HTTP 409).
        ConflictState = "CONFLICT_STATE",
        /// Rate limit or quota exceeded; see [`ApiError::quota_interval`] (HTTP 429).
        TooManyRequests = "TOO_MANY_REQUESTS",
        /// The service failed (HTTP 500).
        InternalError = "INTERNAL_ERROR",
        /// A service behind the API is temporarily unavailable (HTTP 503).
        RemoteServiceUnavailable = "REMOTE_SERVICE_UNAVAILABLE",
        /// The service refuses to aggregate this pool's assignments (HTTP 409; the conditions are
        /// undocumented).
        AssignmentsAggregationDenied = "ASSIGNMENTS_AGGREGATION_DENIED",
        /// Nothing to aggregate: no accepted answers to the requested fields (HTTP 409).
        EmptyPool = "EMPTY_POOL",
        /// The pool is in a status that does not allow aggregation (HTTP 409).
        PoolInappropriateStatus = "POOL_INAPPROPRIATE_STATUS",
        /// This or a related object is in a status that does not allow the action; `payload` may
        /// list `appropriate_statuses` (HTTP 409). The local backend sends it for the results of an
        /// operation that has not succeeded.
        InappropriateStatus = "INAPPROPRIATE_STATUS",
        /// The results are no longer stored (HTTP 409).
        ResultsExpired = "RESULTS_EXPIRED",
        /// The requested aggregation algorithm is not supported for this pool (HTTP 409).
        UnsupportedAlgorithm = "UNSUPPORTED_ALGORITHM",
        /// An equivalent operation is already running (HTTP 409).
        OperationAlreadyExists = "OPERATION_ALREADY_EXISTS",
        /// The operation failed while running; the local backend sends it when the method fails
        /// on the data (HTTP 409).
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
    /// The service's id of the failed request, for support; absent in local answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
    /// What went wrong, in a form a program can match on.
    pub code: ErrorCode,
    /// Human-readable explanation (empty when the body has none).
    #[serde(default)]
    pub message: String,
    /// Code-specific detail: for `VALIDATION_ERROR` a map from field name to
    /// `{code, message, params?}`; for `TOO_MANY_REQUESTS` possibly `{"interval": "MIN"}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Value>,
}

impl ApiError {
    /// An error body with `code` and `message`, no request id and no payload.
    pub fn new(code: impl Into<ErrorCode>, message: impl Into<String>) -> Self {
        Self {
            request_id: None,
            code: code.into(),
            message: message.into(),
            payload: None,
        }
    }

    /// Sets `request_id`.
    pub fn with_request_id(mut self, request_id: impl Into<String>) -> Self {
        self.request_id = Some(request_id.into());
        self
    }

    /// Sets `payload` (see the field for its shape per code).
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
        /// The value must be a JSON array.
        ArrayExpected = "ARRAY_EXPECTED",
        /// The array has more items than allowed (`params.max`).
        ArraySizeGreaterThanMax = "ARRAY_SIZE_GREATER_THAN_MAX",
        /// The array has fewer items than required (`params.min`).
        ArraySizeLessThanMin = "ARRAY_SIZE_LESS_THAN_MIN",
        /// The array's size is outside the allowed range.
        ArraySizeOutOfBounds = "ARRAY_SIZE_OUT_OF_BOUNDS",
        /// The string must not be empty or whitespace only.
        BlankStringNotAllowed = "BLANK_STRING_NOT_ALLOWED",
        /// The value must be a JSON boolean.
        BooleanExpected = "BOOLEAN_EXPECTED",
        /// The string contains a character that is not allowed.
        CharacterNotAllowed = "CHARACTER_NOT_ALLOWED",
        /// The date is outside the allowed range.
        DateOutOfRange = "DATE_OUT_OF_RANGE",
        /// The array holds the same value twice.
        DuplicateValueInArray = "DUPLICATE_VALUE_IN_ARRAY",
        /// The object must not be empty.
        EmptyObjectNotAllowed = "EMPTY_OBJECT_NOT_ALLOWED",
        /// The referenced object exists but the caller may not use it.
        EntityAccessDenied = "ENTITY_ACCESS_DENIED",
        /// The referenced object (pool, skill, …) does not exist.
        EntityDoesNotExist = "ENTITY_DOES_NOT_EXIST",
        /// The value must be a number.
        FloatExpected = "FLOAT_EXPECTED",
        /// The value must be an integer.
        IntegerExpected = "INTEGER_EXPECTED",
        /// The value is not valid coordinates.
        InvalidCoordinatesSyntax = "INVALID_COORDINATES_SYNTAX",
        /// The value is not a valid date.
        InvalidDateSyntax = "INVALID_DATE_SYNTAX",
        /// The value is not a valid date and time.
        InvalidDateTimeSyntax = "INVALID_DATE_TIME_SYNTAX",
        /// The value is not a valid regular expression.
        InvalidRegexSyntax = "INVALID_REGEX_SYNTAX",
        /// The value is not a valid URL.
        InvalidUrlSyntax = "INVALID_URL_SYNTAX",
        /// The value is not valid (no more specific code applies).
        InvalidValue = "INVALID_VALUE",
        /// The value must be JSON.
        JsonExpected = "JSON_EXPECTED",
        /// The object may have at most one property.
        MaxOnePropertyAllowed = "MAX_ONE_PROPERTY_ALLOWED",
        /// The name is shorter than allowed.
        NameLengthLessThanMin = "NAME_LENGTH_LESS_THAN_MIN",
        /// The request body must not be empty or null.
        NotNullBody = "NOT_NULL_BODY",
        /// The value must be a JSON object.
        ObjectExpected = "OBJECT_EXPECTED",
        /// The object is larger (in bytes) than allowed.
        ObjectSizeBytesGreaterThanMax = "OBJECT_SIZE_BYTES_GREATER_THAN_MAX",
        /// The string does not match the required pattern.
        PatternMismatch = "PATTERN_MISMATCH",
        /// The value must be a string, number or boolean, not an array or object.
        SimpleValueExpected = "SIMPLE_VALUE_EXPECTED",
        /// The value must be a string.
        StringExpected = "STRING_EXPECTED",
        /// The string is longer than allowed (`params.max`).
        StringLengthGreaterThanMax = "STRING_LENGTH_GREATER_THAN_MAX",
        /// The string is shorter than required (`params.min`).
        StringLengthLessThanMin = "STRING_LENGTH_LESS_THAN_MIN",
        /// The string's length is outside the allowed range.
        StringLengthOutOfBounds = "STRING_LENGTH_OUT_OF_BOUNDS",
        /// The value is not one of the allowed values (`params.allowed_values`).
        UnknownEnumValue = "UNKNOWN_ENUM_VALUE",
        /// The value must be a UUID.
        UuidExpected = "UUID_EXPECTED",
        /// At least one value must be given.
        ValuesRequired = "VALUES_REQUIRED",
        /// The number is larger than allowed (`params.max`).
        ValueGreaterThanMax = "VALUE_GREATER_THAN_MAX",
        /// The number is smaller than allowed (`params.min`).
        ValueLessThanMin = "VALUE_LESS_THAN_MIN",
        /// The value is valid in itself but not allowed here (the local backend: an output field
        /// the pool does not have).
        ValueNotAllowed = "VALUE_NOT_ALLOWED",
        /// The number is outside the allowed range.
        ValueOutOfBounds = "VALUE_OUT_OF_BOUNDS",
        /// The value is missing or null.
        ValueRequired = "VALUE_REQUIRED",
    }
}

/// The JSON type a field should have had.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum JsonType {
    /// A JSON string.
    String,
    /// A JSON integer.
    Integer,
    /// A JSON array.
    Array,
    /// A JSON object.
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
    /// A required value is missing or null (`VALUE_REQUIRED`).
    #[error("{field}: Value must be present and not equal to null")]
    Required {
        /// The JSON key or path of the missing value (see [`InvalidField`]).
        field: String,
    },
    /// A string is empty or whitespace only (`BLANK_STRING_NOT_ALLOWED`).
    #[error("{field}: Value must not be blank")]
    BlankString {
        /// The JSON key or path of the string (see [`InvalidField`]).
        field: String,
    },
    /// A value has the wrong JSON type (`STRING_EXPECTED`, `INTEGER_EXPECTED`, …).
    #[error("{field}: Value must be {}", expected_phrase(*.expected))]
    WrongType {
        /// The JSON key or path of the value (see [`InvalidField`]).
        field: String,
        /// The type it should have had.
        expected: JsonType,
    },
    /// A value is not one of an enum's names, such as an unknown `type` (`UNKNOWN_ENUM_VALUE`).
    #[error("{field}: Unknown value {value:?}, expected one of: {}", .allowed.join(", "))]
    UnknownEnumValue {
        /// The JSON key or path of the value (see [`InvalidField`]).
        field: String,
        /// The value given.
        value: String,
        /// The values Toloka accepts there.
        allowed: &'static [&'static str],
    },
    /// An array has fewer items than allowed (`ARRAY_SIZE_LESS_THAN_MIN`).
    #[error("{field}: Array size must be at least {min}, got {actual}")]
    TooFewItems {
        /// The JSON key or path of the array (see [`InvalidField`]).
        field: String,
        /// The fewest items allowed.
        min: usize,
        /// The number of items given.
        actual: usize,
    },
    /// An array has more items than allowed (`ARRAY_SIZE_GREATER_THAN_MAX`).
    #[error("{field}: Array size must be at most {max}, got {actual}")]
    TooManyItems {
        /// The JSON key or path of the array (see [`InvalidField`]).
        field: String,
        /// The most items allowed.
        max: usize,
        /// The number of items given.
        actual: usize,
    },
    /// An integer is below its minimum (`VALUE_LESS_THAN_MIN`).
    #[error("{field}: Value must be at least {min}, got {actual}")]
    ValueTooSmall {
        /// The JSON key or path of the value (see [`InvalidField`]).
        field: String,
        /// The smallest value allowed.
        min: i64,
        /// The value given.
        actual: i64,
    },
    /// An integer is above its maximum (`VALUE_GREATER_THAN_MAX`).
    #[error("{field}: Value must be at most {max}, got {actual}")]
    ValueTooLarge {
        /// The JSON key or path of the value (see [`InvalidField`]).
        field: String,
        /// The largest value allowed.
        max: i64,
        /// The value given.
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
    /// The JSON key or path of the invalid value (`""` for the body itself).
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

    /// The Toloka validation code of this problem.
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
    /// Every invalid field, in request order (never empty when built by [`Self::check`]).
    pub fields: Vec<InvalidField>,
}

fn join_fields(fields: &[InvalidField]) -> String {
    let texts: Vec<String> = fields.iter().map(ToString::to_string).collect();
    texts.join("; ")
}

impl ValidationError {
    /// The `message` of the API error body.
    pub const MESSAGE: &'static str = "Validation failed";

    /// An error holding `fields` as given (see [`Self::check`] for the usual way).
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

    /// The 400 `VALIDATION_ERROR` body of this error, with [`Self::payload`] as payload.
    pub fn to_api_error(&self) -> ApiError {
        ApiError::new(ErrorCode::ValidationError, Self::MESSAGE).with_payload(self.payload())
    }
}

impl From<ValidationError> for ApiError {
    fn from(error: ValidationError) -> Self {
        error.to_api_error()
    }
}
