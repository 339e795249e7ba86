//! Fuzzes the whole inbound push path: envelope XML → signature → decrypt → event XML.
//! The input is used twice: as a raw body (hostile sender), and as a plaintext that is properly encrypted and signed
//! (a sender who has the key), so the decrypted-side parsers get arbitrary input too.
#![no_main]
use libfuzzer_sys::fuzz_target;
use wxtpl::wechat::crypto::MsgCrypt;
use wxtpl::wechat::push::{AuthEvent, Envelope, MessageEvent};

fuzz_target!(|data: &[u8]| {
    let crypt = MsgCrypt::new("token", "abcdefghijklmnopqrstuvwxyz0123456789ABCDEFG", "wx0123456789abcdef").unwrap();
    let Ok(text) = std::str::from_utf8(data) else { return };
    if let Ok((_, encrypted)) = Envelope::parse(text) {
        let sig = crypt.msg_signature("1", "2", &encrypted);
        if let Ok(plain) = crypt.verify_and_decrypt(&sig, "1", "2", &encrypted) {
            let _ = AuthEvent::parse(&plain);
        }
    }
    let _ = crypt.decrypt(text);
    let sealed = crypt.encrypt(text);
    let plain = crypt.decrypt(&sealed).expect("round trip");
    assert_eq!(plain, text);
    let _ = AuthEvent::parse(&plain);
    let _ = MessageEvent::parse(&plain);
});
