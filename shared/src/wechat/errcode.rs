//! WeChat errcodes the product reacts to. Anything else is reported as an upstream error with its code.
pub const BUSY: i64 = -1;
pub const INVALID_CREDENTIAL: i64 = 40001;
pub const INVALID_TOKEN: i64 = 40014;
pub const TOKEN_EXPIRED: i64 = 42001;
pub const INVALID_APPSECRET: i64 = 40125;
pub const DAILY_QUOTA: i64 = 45009;
pub const TOO_FREQUENT: i64 = 45011;
/// `jscode2session`: the `wx.login` code is invalid, expired, used, or another mini-program's.
pub const LOGIN_CODE_INVALID: i64 = 40029;
/// The mini-program is not authorized to the component (any component-token call naming it).
pub const COMPONENT_NOT_AUTHORIZED: i64 = 61003;
pub const TICKET_EXPIRED: i64 = 61005;
pub const TICKET_INVALID: i64 = 61006;
pub const REFRESH_TOKEN_INVALID: i64 = 61023;
pub const ALREADY_AUDITING: i64 = 85009;
pub const BAD_PAGE_PATH: i64 = 85007;
pub const NO_CATEGORY: i64 = 85008;
pub const CATEGORY_INVALID: i64 = 85077;
pub const UNDO_QUOTA: i64 = 87013;
pub const TEMPLATE_NOT_FOUND: i64 = 85064;
pub const TEMPLATE_LIBRARY_FULL: i64 = 85065;
pub const AUTH_CODE_INVALID: i64 = 61010;
pub const PRIVACY_SCAN_RUNNING: i64 = 61039;
pub const AUDIT_QUOTA: i64 = 85085;
pub const NOTHING_TO_RELEASE: i64 = 85019;
pub const NOT_RELEASABLE: i64 = 85020;
pub const GRAY_RELEASE_RUNNING: i64 = 87011;
pub const GRAY_NO_ONLINE_VERSION: i64 = 85079;
pub const GRAY_AUDIT_NOT_PASSED: i64 = 85080;
pub const GRAY_BAD_PERCENTAGE: i64 = 85081;
pub const GRAY_MUST_GROW: i64 = 85082;
pub const NOT_REVERTIBLE: i64 = 87012;
pub const BAD_AUDIT_ID: i64 = 85012;
pub const NO_SUCH_WECHAT_USER: i64 = 85001;
pub const TESTER_LIMIT: i64 = 85002;
pub const TESTER_ALREADY_BOUND: i64 = 85004;
pub const NOTHING_COMMITTED: i64 = 85086;
pub const NO_CODE: i64 = 86001;
/// The code uses privacy APIs it did not declare or has no permission for.
pub const PRIVACY_API_UNDECLARED: i64 = 61040;
/// A mini-program domain that is not one of the platform's registered server domains.
pub const DOMAIN_NOT_ON_PLATFORM: i64 = 85018;
/// `owner_setting` lacks a required field.
pub const PRIVACY_OWNER_INCOMPLETE: i64 = 86069;
/// Mini-program codes: the scene has characters WeChat does not allow, or is too long.
pub const INVALID_SCENE: i64 = 40129;
pub const INVALID_SCENE_LENGTH: i64 = 40169;
/// The page is not in the released version (with check_path), or is malformed.
pub const INVALID_PAGE: i64 = 41030;
pub const BAD_POST_DATA: i64 = 47001;
/// getwxacode and createwxaqrcode together: 100,000 per mini-program, ever.
pub const CODE_LIMIT: i64 = 45029;
/// Ordinary-QR jump rules.
pub const JUMP_BAD_LINK: i64 = 85066;
pub const JUMP_DEBUG_URL_OUTSIDE: i64 = 85068;
pub const JUMP_VERIFY_FILE_MISSING: i64 = 85069;
pub const JUMP_LINK_BLACKLISTED: i64 = 85070;
pub const JUMP_ALREADY_ADDED: i64 = 85071;
pub const JUMP_PREFIX_TAKEN: i64 = 85072;
pub const JUMP_LIST_FULL: i64 = 85073;
pub const JUMP_NOT_RELEASED: i64 = 85074;
pub const JUMP_PERSONAL: i64 = 85075;
pub const JUMP_PUBLISH_QUOTA: i64 = 886000;
/// WeChat found an argument invalid (an unknown id, a value out of range).
pub const INVALID_ARGS: i64 = 40097;
/// Fast registration.
pub const REGISTER_TASK_RUNNING: i64 = 89249;
pub const REGISTER_MISSING_PARAMS: i64 = 89253;
pub const REGISTER_BAD_CODE: i64 = 89255;
pub const INVALID_WECHAT_ID: i64 = 86004;
pub const REGISTER_NAME_MISMATCH: i64 = 61070;
/// Basic information and categories.
pub const SIGNATURE_QUOTA: i64 = 53200;
pub const SIGNATURE_BLACKLISTED: i64 = 53201;
pub const NAME_INVALID: i64 = 91001;
pub const NAME_AFTER_RELEASE: i64 = 91002;
pub const NAME_TAKEN: i64 = 91005;
pub const NAME_CHANGES_USED: i64 = 91017;
pub const NAME_UNDER_AUDIT: i64 = 91019;
pub const CATEGORY_QUOTA: i64 = 53300;
pub const CATEGORY_CAP: i64 = 53301;
pub const CATEGORY_BAD_PARAMS: i64 = 53303;
pub const CATEGORY_DUPLICATE: i64 = 53304;
pub const CATEGORY_UNDER_AUDIT: i64 = 53308;
/// Media and the head image.
pub const INVALID_MEDIA_TYPE: i64 = 40004;
pub const INVALID_MEDIA_ID: i64 = 40007;
pub const MEDIA_TOO_LARGE: i64 = 40009;
pub const HEAD_IMAGE_QUOTA: i64 = 53202;
pub const CATEGORY_NOT_MODIFIABLE: i64 = 53307;
