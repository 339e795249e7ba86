//! WeChat Pay APIv3 in service-provider mode (服务商): the provider's merchant signs every call, the merchant's
//! sub-merchant id and mini-program name whom the payment is for. `sign` holds the cryptography, `client` the calls.
pub mod client;
pub mod sign;
