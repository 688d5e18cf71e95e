use proptest::prelude::*;
use serde::{Deserialize, Serialize};

use crate::crypto::{
    BcsHashable, BcsSignable, CryptoError, CryptoHash, PublicKey, SecretKey, Signature,
};

#[derive(Serialize, Deserialize)]
struct Greeting(String);

impl BcsSignable for Greeting {
    const TYPE_TAG: &'static str = "Greeting";
}

impl BcsHashable for Greeting {
    const TYPE_TAG: &'static str = "Greeting";
}

#[derive(Serialize)]
struct Farewell(String);

impl BcsSignable for Farewell {
    const TYPE_TAG: &'static str = "Farewell";
}

impl BcsHashable for Farewell {
    const TYPE_TAG: &'static str = "Farewell";
}

#[test]
fn test_signature_checks_signer_value_and_type() {
    let secret = SecretKey::from_test_seed(1);
    let other = SecretKey::from_test_seed(2);
    let signature = Signature::new(&Greeting("hello".into()), &secret);
    assert_eq!(
        signature.check(&Greeting("hello".into()), &secret.public()),
        Ok(())
    );
    assert!(matches!(
        signature.check(&Greeting("hello".into()), &other.public()),
        Err(CryptoError::InvalidSignature { .. })
    ));
    assert!(signature
        .check(&Greeting("hullo".into()), &secret.public())
        .is_err());
    // Same bytes, different type: the tag keeps them apart.
    assert!(signature
        .check(&Farewell("hello".into()), &secret.public())
        .is_err());
    assert_ne!(
        CryptoHash::new(&Greeting("x".into())),
        CryptoHash::new(&Farewell("x".into()))
    );
}

#[test]
fn test_signature_batch_names_the_bad_signer() {
    let value = Greeting("batch".into());
    let secrets: Vec<_> = (0..4).map(SecretKey::from_test_seed).collect();
    let keys: Vec<_> = secrets.iter().map(SecretKey::public).collect();
    let mut signatures: Vec<_> = secrets.iter().map(|s| Signature::new(&value, s)).collect();
    assert_eq!(
        Signature::check_batch(&value, keys.iter().zip(&signatures)),
        Ok(())
    );
    signatures[2] = Signature::new(&Greeting("other".into()), &secrets[2]);
    assert_eq!(
        Signature::check_batch(&value, keys.iter().zip(&signatures)),
        Err(CryptoError::InvalidSignature {
            signer: keys[2].to_string(),
            type_tag: "Greeting"
        })
    );
}

#[test]
fn test_keys_and_signatures_roundtrip_in_bcs_and_json() {
    let secret = SecretKey::from_test_seed(7);
    let public = secret.public();
    let signature = Signature::new(&Greeting("x".into()), &secret);
    let bytes = bcs::to_bytes(&(public, signature)).unwrap();
    assert_eq!(bytes.len(), 32 + 64);
    let (decoded_key, decoded_signature): (PublicKey, Signature) = bcs::from_bytes(&bytes).unwrap();
    assert_eq!((decoded_key, decoded_signature), (public, signature));
    let restored = SecretKey::from_hex(&secret.to_hex()).unwrap();
    assert_eq!(restored.public(), public);
    assert_eq!(public.to_string().parse::<PublicKey>().unwrap(), public);
}

#[test]
fn test_public_key_rejects_invalid_points() {
    // The identity point has small order.
    let mut identity = [0u8; 32];
    identity[0] = 1;
    assert!(PublicKey::from_bytes(&identity).is_err());
    // About half of all 32-byte strings are not the encoding of any curve point; decoding
    // refuses them instead of producing a key that can never verify.
    let not_a_point = (2u8..=255)
        .map(|byte| [byte; 32])
        .find(|bytes| PublicKey::from_bytes(bytes).is_err())
        .expect("some candidate is off the curve");
    assert!(bcs::from_bytes::<PublicKey>(&bcs::to_bytes(&not_a_point).unwrap()).is_err());
}

proptest! {
    #[test]
    fn prop_hash_display_parse_roundtrip(bytes in any::<[u8; 32]>()) {
        let hash = CryptoHash::from_bytes(bytes);
        prop_assert_eq!(hash.to_string().parse::<CryptoHash>().unwrap(), hash);
        let json = format!("\"{hash}\"");
        prop_assert_eq!(bcs::from_bytes::<CryptoHash>(&bcs::to_bytes(&hash).unwrap()).unwrap(), hash);
        prop_assert_eq!(json.len(), 66);
    }
}
