//! Secrets the service must read back (a shop's webhook signing secret) are stored sealed:
//! ChaCha20-Poly1305 under a key derived from the key file's secret, with a random nonce
//! and the row's identity as associated data, so a sealed value copied to another row or
//! vendor does not open.

use base64::Engine;
use hmac::{Hmac, Mac};
use ring::aead::{Aad, LessSafeKey, Nonce, UnboundKey, CHACHA20_POLY1305, NONCE_LEN};
use sha2::Sha256;

use crate::clock::Random;

pub struct Sealer {
    key: LessSafeKey,
}

impl std::fmt::Debug for Sealer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Sealer(..)")
    }
}

fn b64() -> base64::engine::GeneralPurpose {
    base64::engine::general_purpose::URL_SAFE_NO_PAD
}

impl Sealer {
    /// A sealer keyed by HMAC-SHA256(`secret`, "truview seal v1").
    pub fn new(secret: &[u8]) -> Sealer {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("HMAC accepts any key length");
        mac.update(b"truview seal v1");
        let key = mac.finalize().into_bytes();
        let unbound = UnboundKey::new(&CHACHA20_POLY1305, &key).expect("a 32-byte key");
        Sealer { key: LessSafeKey::new(unbound) }
    }

    /// `plaintext` sealed for the row `context` names (e.g. `integration:{vendor}:shopify`).
    pub fn seal(&self, random: &dyn Random, context: &str, plaintext: &str) -> String {
        let mut nonce = [0u8; NONCE_LEN];
        random.fill(&mut nonce);
        let mut data = plaintext.as_bytes().to_vec();
        self.key
            .seal_in_place_append_tag(Nonce::assume_unique_for_key(nonce), Aad::from(context.as_bytes()), &mut data)
            .expect("sealing cannot fail for in-memory data");
        let mut out = nonce.to_vec();
        out.extend_from_slice(&data);
        b64().encode(out)
    }

    /// The plaintext, or `None` if the value was altered, sealed for another context, or
    /// sealed under another key file.
    pub fn open(&self, context: &str, sealed: &str) -> Option<String> {
        let bytes = b64().decode(sealed).ok()?;
        if bytes.len() < NONCE_LEN {
            return None;
        }
        let (nonce, data) = bytes.split_at(NONCE_LEN);
        let nonce = Nonce::try_assume_unique_for_key(nonce).ok()?;
        let mut data = data.to_vec();
        let plain = self.key.open_in_place(nonce, Aad::from(context.as_bytes()), &mut data).ok()?;
        String::from_utf8(plain.to_vec()).ok()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::clock::SystemRandom;

    #[test]
    fn opens_only_what_it_sealed_for_that_context() {
        let sealer = Sealer::new(b"0123456789abcdef0123456789abcdef");
        let sealed = sealer.seal(&SystemRandom, "integration:v1:shopify", "shpss_secret");
        assert!(!sealed.contains("shpss_secret"));
        assert_eq!(sealer.open("integration:v1:shopify", &sealed).as_deref(), Some("shpss_secret"));
        assert_eq!(sealer.open("integration:v2:shopify", &sealed), None);
        assert_eq!(Sealer::new(b"another key file secret.........").open("integration:v1:shopify", &sealed), None);
        let mut tampered = sealed.clone().into_bytes();
        let last = tampered.len() - 2;
        tampered[last] = if tampered[last] == b'A' { b'B' } else { b'A' };
        assert_eq!(sealer.open("integration:v1:shopify", &String::from_utf8(tampered).unwrap()), None);
        assert_ne!(sealer.seal(&SystemRandom, "c", "x"), sealer.seal(&SystemRandom, "c", "x"), "random nonces");
    }
}
