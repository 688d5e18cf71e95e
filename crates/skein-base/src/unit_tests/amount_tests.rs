use proptest::prelude::*;

use crate::{Amount, ArithmeticError};

#[test]
fn test_amount_parse_and_print_decimals() {
    let cases = [
        ("0", "0"),
        ("1", "1"),
        ("1.5", "1.5"),
        ("1.50", "1.5"),
        (".25", "0.25"),
        ("7.", "7"),
        ("0.000000000000000001", "0.000000000000000001"),
        (
            "340282366920938463463.374607431768211455",
            "340282366920938463463.374607431768211455",
        ),
    ];
    for (input, printed) in cases {
        let amount: Amount = input.parse().expect(input);
        assert_eq!(amount.to_string(), printed, "{input}");
    }
    assert_eq!(
        "1.5".parse::<Amount>().unwrap().to_attos(),
        1_500_000_000_000_000_000
    );
}

#[test]
fn test_amount_parse_rejects_bad_text() {
    for bad in [
        "",
        ".",
        "-1",
        "1.2.3",
        "1e5",
        " 1",
        "abc",
        "0.0000000000000000001",
        "340282366920938463463.374607431768211456",
        "1000000000000000000000",
    ] {
        assert!(bad.parse::<Amount>().is_err(), "{bad:?} should be refused");
    }
}

#[test]
fn test_amount_checked_arithmetic() {
    assert_eq!(
        Amount::MAX.try_add(Amount::from_attos(1)),
        Err(ArithmeticError::Overflow)
    );
    assert_eq!(
        Amount::ZERO.try_sub(Amount::from_attos(1)),
        Err(ArithmeticError::Underflow)
    );
    let mut amount = Amount::ONE;
    assert!(amount.try_sub_assign(Amount::from_tokens(2)).is_err());
    assert_eq!(
        amount,
        Amount::ONE,
        "a failed subtraction leaves the value unchanged"
    );
    assert_eq!(
        Amount::from_tokens(3).try_mul(2),
        Ok(Amount::from_tokens(6))
    );
}

#[test]
fn test_amount_serde_formats() {
    let amount: Amount = "2.75".parse().unwrap();
    assert_eq!(
        bcs::to_bytes(&amount).unwrap(),
        amount.to_attos().to_le_bytes().to_vec()
    );
    assert_eq!(
        crate::encoding::decode::<Amount>("amount", &bcs::to_bytes(&amount).unwrap(), 16),
        Ok(amount)
    );
}

proptest! {
    #[test]
    fn prop_amount_print_parse_roundtrip(attos in any::<u128>()) {
        let amount = Amount::from_attos(attos);
        prop_assert_eq!(amount.to_string().parse::<Amount>().unwrap(), amount);
    }

    #[test]
    fn prop_amount_add_sub_inverse(a in any::<u128>(), b in any::<u128>()) {
        let (a, b) = (Amount::from_attos(a), Amount::from_attos(b));
        match a.try_add(b) {
            Ok(sum) => prop_assert_eq!(sum.try_sub(b), Ok(a)),
            Err(error) => {
                prop_assert_eq!(error, ArithmeticError::Overflow);
                prop_assert!(a.to_attos().checked_add(b.to_attos()).is_none());
            }
        }
    }
}
