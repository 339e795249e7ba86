//! WeChat errcodes the product reacts to. Anything else is reported as an upstream error with its code.
pub const BUSY: i64 = -1;
pub const INVALID_CREDENTIAL: i64 = 40001;
pub const INVALID_TOKEN: i64 = 40014;
pub const TOKEN_EXPIRED: i64 = 42001;
pub const DAILY_QUOTA: i64 = 45009;
pub const TOO_FREQUENT: i64 = 45011;
pub const TICKET_EXPIRED: i64 = 61005;
pub const TICKET_INVALID: i64 = 61006;
pub const REFRESH_TOKEN_INVALID: i64 = 61023;
pub const ALREADY_AUDITING: i64 = 85009;
pub const UNDO_QUOTA: i64 = 87013;
pub const TEMPLATE_NOT_FOUND: i64 = 85064;
pub const TEMPLATE_LIBRARY_FULL: i64 = 85065;
pub const AUTH_CODE_INVALID: i64 = 61010;
pub const PRIVACY_SCAN_RUNNING: i64 = 61039;
